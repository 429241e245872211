import { test } from 'tap'
import { ConstellationEndpoint } from '../src/index.js'
import { SimDevice, TestServer } from './helpers.js'

test("a task carries the caller's session id, and a session id already in flight is refused with its own code", async (t) => {
  const server = await TestServer.start(t)
  await SimDevice.start(t, server.wsUrl, 'dev1')
  const started: string[] = []
  server.endpoint.on('sessionStarted', ({ sessionId }) => started.push(sessionId))
  const constellation = new ConstellationEndpoint({ taskName: 'galaxy' })
  t.teardown(() => constellation.stop())
  await constellation.connectToDevice({ deviceId: 'dev1', serverUrl: server.wsUrl })
  const first = constellation.sendTaskToDevice('dev1', { request: '20', sessionId: 'caller-session-1' })
  await t.rejects(constellation.sendTaskToDevice('dev1', { request: '1', sessionId: 'caller-session-1' }), {
    code: 'AIP_ERR_CONSTELLATION_DUPLICATE_SESSION'
  }, 'the same session id while the first is in flight')
  const end = await first
  t.equal(end.sessionId, 'caller-session-1')
  t.equal(end.message.session_id, 'caller-session-1', 'the TASK_END is of that session')
  t.same(started, ['caller-session-1'], 'the server ran the session the caller named')
  const other = await constellation.sendTaskToDevice('dev1', { request: '1', sessionId: 'caller-session-2' })
  t.equal(other.sessionId, 'caller-session-2')
  const derived = await constellation.sendTaskToDevice('dev1', { request: '1', taskId: 't9' })
  t.equal(derived.sessionId, 'galaxy@t9', 'without one, the session id is still <taskName>@<taskId>')
  await t.rejects(constellation.sendTaskToDevice('dev1', { request: '1', sessionId: '' }), { code: 'AIP_ERR_INVALID_ARGUMENT' })
})
