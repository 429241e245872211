import { corpus } from '@aip/test-support'
import { decodeClientMessage } from '@aip/protocol'
import type { Rng } from '../seed.js'

/** The client->server frames of the captured reference conversations (../shared/ufo-wire), as objects. */
export function referenceFrames (): Array<Record<string, unknown>> {
  return corpus
    .filter((entry) => entry.dir === 'client->server' && typeof entry.frame === 'object' && entry.frame !== null && entry.binary !== true)
    .map((entry) => entry.frame as Record<string, unknown>)
}

export type FuzzKind =
  | 'reference' | 'mutated' | 'randomText' | 'invalidUtf8' | 'binary' | 'deepNesting' | 'wrongTypes' | 'hugeString'
  | 'oversize' | 'nonObject' | 'truncatedJson'

/** What the server must do with a frame on a registered connection. */
export type Expectation =
  | { kind: 'any' } // a valid message: any answer (or none), the connection stays or closes with a documented code
  | { kind: 'error', sessionId: string | null, requestId: string | null } // a correlated ERROR, or a documented close
  | { kind: 'close', codes: readonly number[] } // the connection ends with one of these codes

export interface FuzzFrame {
  kind: FuzzKind
  data: string | Buffer
  /** Sent as a binary frame. */
  binary: boolean
  /** Text frame whose bytes are not valid UTF-8 (data is a Buffer sent with the text opcode). */
  rawText: boolean
  expect: Expectation
}

const WRONG_VALUES: readonly unknown[] = [0, -1, 1.5, true, false, [], {}, [1, 2], { a: 1 }, '', 'X', null, 1e308, '\u0000', '\ud800']

function randomString (rng: Rng, length: number): string {
  let out = ''
  for (let i = 0; i < length; i++) {
    const r = rng.next()
    out += r < 0.7 ? String.fromCharCode(32 + rng.int(95)) : r < 0.9 ? String.fromCharCode(rng.int(0xd7ff)) : rng.pick(['{', '}', '[', ']', '"', ':', ',', '\\', '\n'])
  }
  return out
}

function expectationOf (text: string, maxBytes: number): Expectation {
  const decoded = decodeClientMessage(text, { maxBytes })
  if (decoded.ok) return { kind: 'any' }
  let sessionId: string | null = null
  let requestId: string | null = null
  try {
    const parsed = JSON.parse(text) as unknown
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      const record = parsed as Record<string, unknown>
      if (typeof record.session_id === 'string') sessionId = record.session_id
      if (typeof record.request_id === 'string') requestId = record.request_id
    }
  } catch {}
  return { kind: 'error', sessionId, requestId }
}

/**
 * Generates fuzz frames for a registered connection of `clientId` (a device). `maxBytes` is the server's frame
 * limit: oversize frames exceed it, huge strings stay under it.
 */
export class FrameFuzzer {
  readonly #rng: Rng
  readonly #reference: Array<Record<string, unknown>>
  readonly #maxBytes: number

  constructor (rng: Rng, maxBytes: number, reference = referenceFrames()) {
    this.#rng = rng
    this.#reference = reference
    this.#maxBytes = maxBytes
  }

  #base (clientId: string): Record<string, unknown> {
    const frame = { ...this.#rng.pick(this.#reference) }
    // Keep the identity of the connection most of the time, so that the frame reaches the deeper handlers.
    if (this.#rng.chance(0.85)) { frame.client_id = clientId; frame.client_type = 'device'; if (frame.type === 'register') frame.type = 'heartbeat' }
    if (this.#rng.chance(0.3)) frame.session_id = `s-${this.#rng.int(1e9)}`
    if (this.#rng.chance(0.3)) frame.request_id = `r-${this.#rng.int(1e9)}`
    return frame
  }

  #text (kind: FuzzKind, text: string): FuzzFrame {
    return { kind, data: text, binary: false, rawText: false, expect: expectationOf(text, this.#maxBytes) }
  }

  next (clientId: string): FuzzFrame {
    const rng = this.#rng
    const roll = rng.int(100)
    if (roll < 15) return this.#text('reference', JSON.stringify(this.#base(clientId)))
    if (roll < 48) {
      const frame = this.#base(clientId)
      const keys = Object.keys(frame)
      for (let n = rng.between(1, 3); n > 0; n--) {
        const key = rng.chance(0.8) ? rng.pick(keys) : rng.pick(['type', 'status', 'client_type', 'action_results', 'metadata', 'session_id', 'request_id'])
        const op = rng.int(4)
        if (op === 0) Reflect.deleteProperty(frame, key)
        else if (op === 1) frame[key] = rng.pick(WRONG_VALUES)
        else if (op === 2) frame[key] = randomString(rng, rng.between(0, 40))
        else frame[key] = rng.pick(['heartbeat', 'task', 'command_results', 'bogus', 'ok', 'HEARTBEAT', 'error', 'constellation'])
      }
      return this.#text('mutated', JSON.stringify(frame))
    }
    if (roll < 58) return this.#text('randomText', randomString(rng, rng.between(0, 200)))
    if (roll < 63) {
      const text = JSON.stringify(this.#base(clientId))
      return this.#text('truncatedJson', text.slice(0, rng.int(text.length)))
    }
    if (roll < 67) return this.#text('nonObject', rng.pick(['[]', '"x"', '123', 'null', 'true', '[{"type":"heartbeat"}]', '{}']))
    if (roll < 73) {
      const depth = rng.chance(0.5) ? rng.between(65, 400) : rng.between(400, 5000)
      const open = rng.chance(0.5) ? '['.repeat(depth) : '{"a":'.repeat(depth)
      const close = open.startsWith('[') ? ']'.repeat(depth) : '}'.repeat(depth)
      const frame = `{"type":"heartbeat","status":"ok","client_type":"device","client_id":${JSON.stringify(clientId)},"metadata":{"x":${open}1${close}}}`
      return this.#text('deepNesting', frame)
    }
    if (roll < 85) {
      const frame: Record<string, unknown> = { type: 'heartbeat', status: 'ok', client_type: 'device', client_id: clientId, session_id: `w-${rng.int(1e9)}`, request_id: `q-${rng.int(1e9)}` }
      const key = rng.pick(['type', 'status', 'client_type', 'client_id', 'timestamp', 'action_results', 'metadata', 'prev_response_id', 'target_id', 'task_name'])
      frame[key] = rng.pick([0, true, [], { nested: true }, 3.14, ['a'], -0])
      return this.#text('wrongTypes', JSON.stringify(frame))
    }
    if (roll < 90) {
      const size = rng.between(1000, Math.max(1001, this.#maxBytes - 400))
      const field = rng.pick(['error', 'request', 'task_name', 'session_id', 'metadata'])
      const frame: Record<string, unknown> = { type: rng.pick(['heartbeat', 'error', 'task']), status: 'ok', client_type: 'device', client_id: clientId }
      frame[field] = field === 'metadata' ? { blob: 'y'.repeat(size) } : 'x'.repeat(size)
      return this.#text('hugeString', JSON.stringify(frame))
    }
    if (roll < 94) {
      const bytes = Buffer.from(JSON.stringify(this.#base(clientId)))
      const at = rng.int(bytes.length)
      const bad = Buffer.concat([bytes.subarray(0, at), Buffer.from(rng.pick([[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82]])), bytes.subarray(at)])
      return { kind: 'invalidUtf8', data: bad, binary: false, rawText: true, expect: { kind: 'close', codes: [1007] } }
    }
    if (roll < 97) {
      const payload = rng.chance(0.5) ? Buffer.from(JSON.stringify(this.#base(clientId))) : Buffer.from(Array.from({ length: rng.between(0, 64) }, () => rng.int(256)))
      return { kind: 'binary', data: payload, binary: true, rawText: false, expect: { kind: 'close', codes: [1003] } }
    }
    const size = this.#maxBytes + rng.between(1, this.#maxBytes)
    return { kind: 'oversize', data: `{"type":"heartbeat","status":"ok","error":"${'z'.repeat(size)}"}`, binary: false, rawText: false, expect: { kind: 'close', codes: [1009] } }
  }
}
