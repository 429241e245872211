import { SERVER_MESSAGE_FIELDS } from '@aip/protocol'
import type { Test } from 'tap'

type Asserts = Pick<Test, 'same' | 'match' | 'ok'>

/** Fields whose values differ on every run; only their presence and type are checked. */
const VOLATILE = new Set(['timestamp', 'response_id', 'call_id'])

function stripVolatile (value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripVolatile)
  if (typeof value !== 'object' || value === null) return value
  const out: Record<string, unknown> = {}
  for (const [key, item] of Object.entries(value)) out[key] = VOLATILE.has(key) ? typeof item : stripVolatile(item)
  return out
}

/**
 * Compares a server frame with the reference's: the exact 14-field key list in order, every non-volatile value
 * equal, volatile values (timestamps, generated ids) present as strings.
 */
export function sameAsReference (t: Asserts, actual: Record<string, unknown>, expected: Record<string, unknown>, label: string): void {
  t.same(Object.keys(actual), SERVER_MESSAGE_FIELDS, `${label}: the 14 fields in wire order`)
  t.same(stripVolatile(actual), stripVolatile(expected), `${label}: values as the reference sends them`)
  t.match(actual.timestamp, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?\+00:00$/, `${label}: reference timestamp form`)
  t.ok(typeof actual.response_id === 'string' && actual.response_id !== '', `${label}: a response_id`)
}
