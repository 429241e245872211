import { test } from 'tap'
import {
  buildCommand, buildTaskEnd, decodeClientMessage, decodeServerMessage, encodeClientMessage, encodeServerMessage,
  normalizeClientMessage, normalizeServerMessage, type ClientMessage, type DecodedServerMessage, type ServerMessage
} from '../src/index.js'
import { corpus, wireText } from '@aip/test-support'

// A message already in the wire form (every declared field, in order) is decoded and encoded without its normalised
// copy. These tests pin that the result is the same as through the copy: same values, same keys, same bytes.

test('every frame of the reference corpus decodes to exactly what the normalised copy holds, with no unknown fields', async (t) => {
  let checked = 0
  for (const entry of corpus) {
    const text = wireText(entry)
    const result = entry.dir === 'client->server' ? decodeClientMessage(text) : decodeServerMessage(text)
    if (!result.ok) continue
    const parsed = JSON.parse(text) as ClientMessage & ServerMessage
    const copy = entry.dir === 'client->server' ? normalizeClientMessage(parsed) : normalizeServerMessage(parsed)
    t.same(result.value, copy)
    t.same(Object.keys(result.value), Object.keys(copy), 'the same keys in the same order')
    t.equal(result.extra, null)
    checked++
  }
  t.ok(checked > 100, `${checked} frames`)
})

test('a frame with the declared fields out of order, missing or with an unknown one is still normalised', async (t) => {
  const reordered = decodeClientMessage('{"status":"ok","type":"heartbeat","client_type":"device","session_id":null,"task_name":null,"client_id":"d","target_id":null,"request":null,"action_results":null,"timestamp":null,"request_id":null,"prev_response_id":null,"error":null,"metadata":null}')
  t.ok(reordered.ok)
  if (reordered.ok) t.same(Object.keys(reordered.value).slice(0, 2), ['type', 'status'], 'the wire order again')

  const noClientType = decodeClientMessage('{"type":"heartbeat","status":"ok","client_id":"d"}')
  t.ok(noClientType.ok)
  if (noClientType.ok) t.equal(noClientType.value.client_type, 'device', 'client_type defaulted')

  const unknown = decodeClientMessage('{"type":"heartbeat","status":"ok","client_type":"device","session_id":null,"task_name":null,"client_id":"d","target_id":null,"request":null,"action_results":null,"timestamp":null,"request_id":null,"prev_response_id":null,"error":null,"metadata":null,"x_ext":1}')
  t.ok(unknown.ok)
  if (unknown.ok) {
    t.same(unknown.extra, { x_ext: 1 }, 'an unknown field is listed')
    t.notOk('x_ext' in unknown.value, 'and left out of the message')
  }

  const partialResult = decodeClientMessage('{"type":"command_results","status":"continue","client_type":"device","session_id":"s","task_name":null,"client_id":"d","target_id":null,"request":null,"action_results":[{"status":"success"}],"timestamp":null,"request_id":null,"prev_response_id":"r","error":null,"metadata":null}')
  t.ok(partialResult.ok)
  if (partialResult.ok) t.same(partialResult.value.action_results, [{ status: 'success', error: null, result: null, namespace: null, call_id: null }], 'a Result missing fields is completed')
})

test('a message built by the builders encodes to the same bytes as its normalised copy', async (t) => {
  const command: DecodedServerMessage = buildCommand({ sessionId: 's1', taskName: 's1', actions: [{ tool_name: 't', parameters: { a: 1 }, tool_type: 'action', call_id: 'c1' }], responseId: 'r1', timestamp: 'ts' })
  t.equal(encodeServerMessage(command), JSON.stringify(normalizeServerMessage(command)))
  const end = buildTaskEnd({ sessionId: 's1', status: 'completed', result: { ok: true }, error: null })
  t.equal(encodeServerMessage(end, { validate: false }), JSON.stringify(normalizeServerMessage(end)))
})

test('a message not in the wire form is written in it: undefined fields as null, order restored, unknown keys dropped', async (t) => {
  const withUndefined = { type: 'heartbeat', status: 'ok', client_type: 'device', session_id: undefined, task_name: null, client_id: 'd', target_id: null, request: null, action_results: null, timestamp: null, request_id: null, prev_response_id: null, error: null, metadata: null } as unknown as ClientMessage
  t.match(encodeClientMessage(withUndefined, { validate: false }), /"session_id":null/, 'an undefined field is written as null')

  const reordered = { status: 'ok', type: 'heartbeat' } as ClientMessage
  t.match(encodeClientMessage(reordered), /^\{"type":"heartbeat","status":"ok","client_type":"device",/)

  const extraKey = { ...buildTaskEnd({ sessionId: 's', status: 'completed', result: null, error: null }), x_ext: 1 } as ServerMessage
  t.notMatch(encodeServerMessage(extraKey, { validate: false }), /x_ext/, 'an unknown key is not written')

  const inherited = Object.create({ x_ext: 1 }) as Record<string, unknown>
  Object.assign(inherited, buildTaskEnd({ sessionId: 's', status: 'completed', result: null, error: null }))
  t.notMatch(encodeServerMessage(inherited as ServerMessage, { validate: false }), /x_ext/)
  t.match(encodeServerMessage(inherited as ServerMessage, { validate: false }), /^\{"type":"task_end","status":"completed",/)

  const partialCommand = buildCommand({ sessionId: 's1', taskName: 's1', actions: [{ tool_name: 't', tool_type: 'action' }], responseId: 'r1', timestamp: 'ts' })
  t.match(encodeServerMessage(partialCommand), /"actions":\[\{"tool_name":"t","parameters":null,"tool_type":"action","call_id":/, 'a Command is completed')
})
