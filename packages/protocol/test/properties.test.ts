import fc from 'fast-check'
import { test } from 'tap'
import {
  CLIENT_MESSAGE_TYPES, CLIENT_TYPES, decodeClientMessage, decodeServerMessage, encodeClientMessage,
  encodeServerMessage, normalizeClientMessage, normalizeServerMessage, RESULT_STATUSES, SERVER_MESSAGE_TYPES,
  TASK_STATUSES, TOOL_TYPES, type ClientMessage, type ServerMessage
} from '../src/index.js'
import { corpus, wireText } from '@aip/test-support'

// Runs are reproducible: fast-check prints the seed of a failing run; set FC_SEED to replay it.
const seed = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED)
const params = (numRuns: number): fc.Parameters<unknown> => ({ numRuns, ...(seed === undefined ? {} : { seed }) })

const text = fc.string({ unit: 'grapheme', maxLength: 24 })
const opt = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | null | undefined> => fc.option(arb, { nil: undefined }).chain((v) => fc.constantFrom(v, null))
// Free-form JSON values (integers only: JavaScript cannot tell 1.0 from 1, so floats do not round-trip by type).
const json = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown)
const record = fc.dictionary(fc.string({ maxLength: 8 }), json, { maxKeys: 4 })

const result = fc.record({
  status: fc.constantFrom(...RESULT_STATUSES),
  error: opt(text),
  result: fc.option(json, { nil: undefined }),
  namespace: opt(text),
  call_id: opt(fc.uuid())
}, { requiredKeys: ['status'] })

const command = fc.record({
  tool_name: text,
  parameters: opt(record),
  tool_type: fc.constantFrom(...TOOL_TYPES),
  call_id: opt(fc.uuid())
}, { requiredKeys: ['tool_name', 'tool_type'] })

const clientMessage: fc.Arbitrary<ClientMessage> = fc.record({
  type: fc.constantFrom(...CLIENT_MESSAGE_TYPES),
  status: fc.constantFrom(...TASK_STATUSES),
  client_type: fc.constantFrom(...CLIENT_TYPES),
  session_id: opt(text),
  task_name: opt(text),
  client_id: opt(text),
  target_id: opt(text),
  request: opt(text),
  action_results: opt(fc.array(result, { maxLength: 3 })),
  timestamp: opt(text),
  request_id: opt(fc.uuid()),
  prev_response_id: opt(fc.uuid()),
  error: opt(text),
  metadata: opt(record)
}, { requiredKeys: ['type', 'status'] }) as fc.Arbitrary<ClientMessage>

const serverMessage: fc.Arbitrary<ServerMessage> = fc.record({
  type: fc.constantFrom(...SERVER_MESSAGE_TYPES),
  status: fc.constantFrom(...TASK_STATUSES),
  user_request: opt(text),
  agent_name: opt(text),
  process_name: opt(text),
  root_name: opt(text),
  actions: opt(fc.array(command, { maxLength: 3 })),
  messages: opt(fc.array(text, { maxLength: 3 })),
  error: opt(text),
  session_id: opt(text),
  task_name: opt(text),
  timestamp: opt(text),
  response_id: opt(fc.uuid()),
  result: fc.option(json, { nil: undefined })
}, { requiredKeys: ['type', 'status'] }) as fc.Arbitrary<ServerMessage>

test('decode(encode(m)) equals m with unset fields as null, for any valid ClientMessage', async (t) => {
  fc.assert(fc.property(clientMessage, (message) => {
    const decoded = decodeClientMessage(encodeClientMessage(message))
    return decoded.ok && JSON.stringify(decoded.value) === JSON.stringify(normalizeClientMessage(message))
  }), params(500))
  t.pass('500 arbitrary client messages round-tripped')
})

test('decode(encode(m)) equals m with unset fields as null, for any valid ServerMessage', async (t) => {
  fc.assert(fc.property(serverMessage, (message) => {
    const decoded = decodeServerMessage(encodeServerMessage(message))
    return decoded.ok && JSON.stringify(decoded.value) === JSON.stringify(normalizeServerMessage(message))
  }), params(500))
  t.pass('500 arbitrary server messages round-tripped')
})

test('encode is idempotent through decode: a decoded frame re-encodes to the same bytes', async (t) => {
  fc.assert(fc.property(serverMessage, (message) => {
    const once = encodeServerMessage(message)
    const decoded = decodeServerMessage(once)
    return decoded.ok && encodeServerMessage(decoded.value) === once
  }), params(300))
  t.pass('300 frames re-encoded identically')
})

function neverThrows (frame: string | Uint8Array): boolean {
  const client = decodeClientMessage(frame)
  const server = decodeServerMessage(frame)
  return typeof client.ok === 'boolean' && typeof server.ok === 'boolean'
}

test('decode never throws on arbitrary strings', async (t) => {
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), neverThrows), params(2000))
  fc.assert(fc.property(fc.json(), neverThrows), params(1000))
  t.pass('3000 strings decoded without throwing')
})

test('decode never throws on arbitrary bytes', async (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), neverThrows), params(2000))
  t.pass('2000 byte frames decoded without throwing')
})

const referenceFrames = corpus.filter((entry) => typeof entry.frame === 'object').map(wireText)

type Mutation =
  | { kind: 'truncate', at: number }
  | { kind: 'replace', at: number, unit: number }
  | { kind: 'field', at: number, value: unknown }

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  // Cut the frame anywhere.
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  // Overwrite one character with any code unit.
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), unit: fc.integer({ min: 0, max: 0xffff }) }),
  // Replace one field's value with an arbitrary JSON value, or delete it.
  fc.record({ kind: fc.constant('field' as const), at: fc.nat(), value: fc.option(fc.jsonValue({ maxDepth: 4 }), { nil: undefined }) })
)

function mutate (frame: string, m: Mutation): string {
  if (m.kind === 'truncate') return frame.slice(0, m.at % (frame.length + 1))
  if (m.kind === 'replace') {
    const at = m.at % frame.length
    return frame.slice(0, at) + String.fromCharCode(m.unit) + frame.slice(at + 1)
  }
  const object = JSON.parse(frame) as Record<string, unknown>
  const keys = Object.keys(object)
  const target = keys[m.at % keys.length] as string
  if (m.value === undefined) delete object[target]
  else object[target] = m.value
  return JSON.stringify(object)
}

test('decode never throws on mutated reference frames, and accepts or rejects them with a code', async (t) => {
  let accepted = 0
  let rejected = 0
  fc.assert(fc.property(fc.constantFrom(...referenceFrames), fc.array(mutation, { minLength: 1, maxLength: 3 }), (frame, mutations) => {
    const mutated = mutations.reduce<string>((current, m) => {
      try { return mutate(current, m) } catch { return current }
    }, frame)
    for (const result of [decodeClientMessage(mutated), decodeServerMessage(mutated)]) {
      if (result.ok) accepted++
      else if (/^AIP_ERR_PROTOCOL_/.test(result.error.code)) rejected++
      else return false
    }
    return true
  }), params(3000))
  t.ok(accepted > 0 && rejected > 0, `${accepted} accepted, ${rejected} rejected`)
})
