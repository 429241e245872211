import type { Test } from 'tap'

/**
 * The 14 ServerMessage fields in the reference's declaration order, written down here from the captures
 * independently of the implementation's own list.
 */
export const REFERENCE_SERVER_FIELDS = [
  'type', 'status', 'user_request', 'agent_name', 'process_name', 'root_name', 'actions', 'messages', 'error',
  'session_id', 'task_name', 'timestamp', 'response_id', 'result'
] as const

/** The 14 ClientMessage fields in the reference's declaration order. */
export const REFERENCE_CLIENT_FIELDS = [
  'type', 'status', 'client_type', 'session_id', 'task_name', 'client_id', 'target_id', 'request',
  'action_results', 'timestamp', 'request_id', 'prev_response_id', 'error', 'metadata'
] as const

/** Fields whose values differ on every run; only their presence and type are compared. */
const VOLATILE = new Set(['timestamp', 'response_id', 'call_id'])

/** `value` with every volatile field replaced by its type name. */
export function stripVolatile (value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripVolatile)
  if (typeof value !== 'object' || value === null) return value
  const out: Record<string, unknown> = {}
  for (const [name, item] of Object.entries(value)) out[name] = VOLATILE.has(name) ? typeof item : stripVolatile(item)
  return out
}

/**
 * Compares a server frame with the reference's: the exact 14-field key list in order, every non-volatile value
 * equal, volatile values (timestamps, generated ids) present as strings, the timestamp in the reference form.
 */
export function sameAsReference (t: Pick<Test, 'same' | 'match' | 'ok'>, actual: Record<string, unknown>, expected: Record<string, unknown>, label: string): void {
  t.same(Object.keys(actual), REFERENCE_SERVER_FIELDS, `${label}: the 14 fields in wire order`)
  t.same(stripVolatile(actual), stripVolatile(expected), `${label}: values as the reference sends them`)
  t.match(actual.timestamp, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?\+00:00$/, `${label}: reference timestamp form`)
  t.ok(typeof actual.response_id === 'string' && actual.response_id !== '', `${label}: a response_id`)
}
