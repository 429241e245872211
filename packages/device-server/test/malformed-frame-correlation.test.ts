import { test } from 'tap'
import { registeredDevice, startServer } from './helpers/harness.js'

// Found by the fuzz suite (packages/tests): ERRORs answering frames that failed validation carried neither the
// frame's session_id nor its request_id, so a client could not tell which request was refused.
test('a malformed frame on a registered connection is answered with an ERROR carrying its ids', async (t) => {
  const { wsUrl } = await startServer(t)
  const device = await registeredDevice(t, wsUrl, 'dev')

  const wrongType = await device.ask({ type: 'heartbeat', status: 7, client_id: 'dev', session_id: 's1', request_id: 'r1' })
  t.same([wrongType.type, wrongType.session_id, wrongType.response_id], ['error', 's1', 'r1'], 'wrong field type')
  t.match(wrongType.error, /status/)

  const badEnum = await device.ask({ type: 'bogus', status: 'ok', session_id: 's2' })
  t.same([badEnum.type, badEnum.session_id], ['error', 's2'], 'unknown type: the session id is echoed')
  t.not(badEnum.response_id, null, 'a fresh response_id when the frame had no request_id')

  const deep = await device.ask(`{"type":"heartbeat","status":"ok","request_id":"r3","metadata":{"x":${'['.repeat(100)}${']'.repeat(100)}}}`)
  t.same([deep.type, deep.response_id, deep.session_id], ['error', 'r3', null], 'too deep')

  const idsOfWrongTypes = await device.ask({ type: 'heartbeat', status: 'ok', session_id: 5, request_id: ['x'], client_type: 3 })
  t.same([idsOfWrongTypes.type, idsOfWrongTypes.session_id], ['error', null], 'ids that are not strings are not echoed')

  const notJson = await device.ask('{"type":"heartbeat","session_id":"s4"')
  t.same([notJson.type, notJson.session_id], ['error', null], 'a frame that is not JSON carries no ids')
})
