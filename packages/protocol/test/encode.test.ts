import { test } from 'tap'
import {
  buildCommand, buildHeartbeat, decodeServerMessage, encodeClientMessage, encodeServerMessage, ProtocolErrorCode,
  type ClientMessage
} from '../src/index.js'

test('a partial message is written with all 14 fields in wire order, null when unset', async (t) => {
  t.equal(
    encodeServerMessage({ type: 'error', status: 'error', error: 'boom' }),
    '{"type":"error","status":"error","user_request":null,"agent_name":null,"process_name":null,"root_name":null,' +
    '"actions":null,"messages":null,"error":"boom","session_id":null,"task_name":null,"timestamp":null,' +
    '"response_id":null,"result":null}'
  )
})

test('nested Commands and Results are written in their wire order with nulls', async (t) => {
  const text = encodeServerMessage({
    type: 'command',
    status: 'continue',
    actions: [{ call_id: 'c1', tool_type: 'action', tool_name: 'click' }]
  })
  t.match(text, /"actions":\[\{"tool_name":"click","parameters":null,"tool_type":"action","call_id":"c1"\}\]/)
  const results = encodeClientMessage({
    type: 'command_results',
    status: 'continue',
    action_results: [{ call_id: 'c1', status: 'success', result: 0 }]
  })
  t.match(results, /"action_results":\[\{"status":"success","error":null,"result":0,"namespace":null,"call_id":"c1"\}\]/)
})

test('text is written as raw UTF-8 and control characters are escaped as the reference does', async (t) => {
  const text = encodeServerMessage({ type: 'error', status: 'error', error: 'café 设备 😀 "q" \\ \n\t\u0001' })
  t.match(text, /"error":"café 设备 😀 \\"q\\" \\\\ \\n\\t\\u0001"/)
})

test('an invalid message is refused with a coded error rather than written', async (t) => {
  t.throws(() => encodeClientMessage({ type: 'nope', status: 'ok' } as unknown as ClientMessage), {
    code: ProtocolErrorCode.INVALID_ARGUMENT,
    message: /not a valid client message at \/type/
  })
  t.throws(() => encodeServerMessage({ type: 'task_end' } as never), { code: ProtocolErrorCode.INVALID_ARGUMENT })
})

test('values JSON cannot hold are refused with a coded error', async (t) => {
  const circular: Record<string, unknown> = {}
  circular.self = circular
  t.throws(() => encodeClientMessage(buildHeartbeat({ clientId: 'd', clientType: 'device', metadata: circular })), {
    code: ProtocolErrorCode.INVALID_ARGUMENT,
    message: /cannot be serialised/
  })
  t.throws(() => encodeServerMessage({ type: 'task_end', status: 'completed', result: 10n }), {
    code: ProtocolErrorCode.INVALID_ARGUMENT
  })
})

test('validation can be skipped for messages this package built', async (t) => {
  const message = buildHeartbeat({ clientId: 'd', clientType: 'device' })
  t.equal(encodeClientMessage(message, { validate: false }), encodeClientMessage(message))
})

test('buildCommand gives every action a fresh call_id unless told not to', async (t) => {
  const actions = [{ tool_name: 'a', tool_type: 'action' as const, call_id: 'mine' }, { tool_name: 'b', tool_type: 'data_collection' as const }]
  const fresh = buildCommand({ sessionId: 's', taskName: 't', actions })
  const ids = fresh.actions?.map((a) => a.call_id) ?? []
  t.equal(ids.length, 2)
  t.not(ids[0], 'mine')
  t.not(ids[0], ids[1])
  t.equal(buildCommand({ sessionId: 's', taskName: 't', actions, assignCallIds: false }).actions?.[0]?.call_id, 'mine')
  t.not(fresh.response_id, buildCommand({ sessionId: 's', taskName: 't', actions }).response_id, 'response ids are fresh')
})

test('extension fields are written after the 14 declared ones and come back in extra', async (t) => {
  const text = encodeServerMessage({ type: 'task_end', status: 'failed', session_id: 's' }, { extra: { aip_reason: 'requester_disconnected' } })
  t.match(text, /"result":null,"aip_reason":"requester_disconnected"\}$/)
  const decoded = decodeServerMessage(text)
  t.ok(decoded.ok)
  if (decoded.ok) t.same({ ...decoded.extra }, { aip_reason: 'requester_disconnected' })
  t.throws(() => encodeServerMessage({ type: 'error', status: 'error' }, { extra: { status: 'ok' } }), { code: ProtocolErrorCode.INVALID_ARGUMENT })
})
