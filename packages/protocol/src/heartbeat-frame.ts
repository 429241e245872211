import type { DecodedClientMessage } from './messages.js'

/*
 * The most frequent frame a server gets is a device's HEARTBEAT, and the reference device writes it in one form:
 * every field in wire order, compact, everything but `client_id` and `timestamp` null (see PROTOCOL.md). A frame
 * of exactly that form is read here by comparing its fixed parts, with no parse and no schema check: it is valid,
 * and already in the decoded form. Any other text (another order, spaces, an escape sequence or a control
 * character in a string, one more field) returns null and goes through the general decoder, which accepts or
 * rejects it as always.
 */

const HEAD = '{"type":"heartbeat","status":"ok","client_type":"device","session_id":null,"task_name":null,"client_id":"'
const MIDDLE = '","target_id":null,"request":null,"action_results":null,"timestamp":"'
const TAIL = '","request_id":null,"prev_response_id":null,"error":null,"metadata":null}'
const SHORTEST = HEAD.length + MIDDLE.length + TAIL.length

const QUOTE = 0x22
const BACKSLASH = 0x5c

/** True when `text[from, to)` is a JSON string's content that reads as it is written: no quote, no escape, no control character. */
function plain (text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x20 || c === QUOTE || c === BACKSLASH) return false
  }
  return true
}

/**
 * The decoded message of a device HEARTBEAT written in the reference's form, or null when `text` is anything else
 * (then the general decoder decides). Its value is what the general decoder would return for it.
 */
export function referenceHeartbeat (text: string): DecodedClientMessage | null {
  if (text.length < SHORTEST || !text.startsWith(HEAD) || !text.endsWith(TAIL)) return null
  const idFrom = HEAD.length
  const idTo = text.indexOf('"', idFrom)
  if (!text.startsWith(MIDDLE, idTo)) return null
  const timeFrom = idTo + MIDDLE.length
  const timeTo = text.length - TAIL.length
  if (timeTo < timeFrom || !plain(text, idFrom, idTo) || !plain(text, timeFrom, timeTo)) return null
  return {
    type: 'heartbeat',
    status: 'ok',
    client_type: 'device',
    session_id: null,
    task_name: null,
    client_id: text.slice(idFrom, idTo),
    target_id: null,
    request: null,
    action_results: null,
    timestamp: text.slice(timeFrom, timeTo),
    request_id: null,
    prev_response_id: null,
    error: null,
    metadata: null
  }
}
