import { buildServerError, type DecodedServerMessage, type DeviceSystemInfo } from '@aip/protocol'
import { clip, echoId } from './texts.js'

/**
 * An ERROR that repeats no unbounded client text: its error cut to a few hundred characters, correlation ids too
 * long to be legitimate left out.
 */
export function serverError (fields: { error: string, sessionId?: string | null, responseId?: string | null }): DecodedServerMessage {
  return buildServerError({ error: clip(fields.error), sessionId: echoId(fields.sessionId) ?? null, responseId: echoId(fields.responseId) })
}

/** True when `request` is longer than `max` bytes of UTF-8 (measured exactly only when it may be). */
export function requestTooLarge (request: string, max: number): boolean {
  if (request.length > max) return true
  return request.length * 3 > max && Buffer.byteLength(request, 'utf8') > max
}

/** A plain object (not null, not an array). */
export function isObject (value: unknown): value is Record<string, unknown> & DeviceSystemInfo {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
