import { test } from 'tap'
import {
  answersCommand, answersDeviceInfoRequest, decodeClientMessage, decodeServerMessage, isRegistrationConfirmation,
  isTaskAck, isTaskEnd, unansweredCallIds, type DecodedClientMessage, type DecodedServerMessage
} from '../src/index.js'
import { line, wireText } from '@aip/test-support'

const S1 = 's1-task-roundtrip.jsonl'

function server (seq: number): DecodedServerMessage {
  const result = decodeServerMessage(wireText(line(S1, seq)))
  if (!result.ok) throw result.error
  return result.value
}

function client (seq: number): DecodedClientMessage {
  const result = decodeClientMessage(wireText(line(S1, seq)))
  if (!result.ok) throw result.error
  return result.value
}

test('the first HEARTBEAT ok confirms registration; an ack carries the session', async (t) => {
  t.ok(isRegistrationConfirmation(server(2)))
  t.notOk(isRegistrationConfirmation(server(8)), 'the task ack is not a registration confirmation')
  t.notOk(isRegistrationConfirmation(server(11)), 'an ERROR is not a confirmation')
  t.ok(isTaskAck(server(8), 'galaxy_task@t1'))
  t.notOk(isTaskAck(server(8), 'other@t2'))
})

test('COMMAND_RESULTS answer the COMMAND whose response_id they carry', async (t) => {
  t.ok(answersCommand(client(12), server(9)))
  t.notOk(answersCommand(client(14), server(9)), 'step 2 results do not answer step 1')
  t.notOk(answersCommand(client(12), server(8)), 'only a COMMAND is answered')
  t.same(unansweredCallIds(server(9), client(12)), [])
  t.same(unansweredCallIds(server(9), { ...client(12), action_results: [] }), server(9).actions?.map((a) => a.call_id))
})

test('DEVICE_INFO_RESPONSE answers the request whose request_id is its response_id', async (t) => {
  t.ok(answersDeviceInfoRequest(server(6), client(5)))
  t.notOk(answersDeviceInfoRequest(server(6), { ...client(5), request_id: 'other' }))
  t.notOk(answersDeviceInfoRequest(server(2), client(5)))
})

test('TASK_END ends only its own session', async (t) => {
  t.ok(isTaskEnd(server(15), 'galaxy_task@t1'))
  t.notOk(isTaskEnd(server(15), 'galaxy_task@t2'))
  t.notOk(isTaskEnd(server(8), 'galaxy_task@t1'))
})
