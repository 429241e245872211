import { test } from 'tap'
import { echoDevice, registeredConstellation, registeredDevice, until } from './helpers/harness.js'
import { nextEvent } from './helpers/continuity.js'
import { answer, testCluster } from './helpers/cluster.js'

/** The TASK a Python device sends for a server TASK: its own, without a session id. */
function deviceTask (clientId: string, serverTask: Record<string, any>): Record<string, unknown> {
  return { type: 'task', status: 'continue', client_type: 'device', client_id: clientId, session_id: null, task_name: serverTask.task_name, request: serverTask.user_request }
}

test('dispatch on node B to a device of node A: the task runs on A, done settles on B with the record made there', async (t) => {
  const cluster = testCluster(t)
  const a = await cluster.node('node-a')
  const b = await cluster.node('node-b')
  const device = await registeredDevice(t, a.wsUrl, 'dev-1')
  const started = nextEvent(a.endpoint, 'sessionStarted')
  const dispatched = await b.endpoint.dispatch('dev-1', 'open notepad', { taskName: 'notepad task' })
  t.match(dispatched, { sessionId: String, taskName: 'notepad_task' }, 'the task name is sanitised, as for a local dispatch')
  const S = dispatched.sessionId
  const serverTask = await device.next()
  t.match(serverTask, { type: 'task', session_id: S, task_name: 'notepad_task', user_request: 'open notepad' }, 'the server TASK, made on A')
  t.same(b.endpoint.listDispatches(), [{ deviceId: 'dev-1', sessionId: S, taskName: 'notepad_task', running: false }], 'listed on B, not taken up yet')
  t.match(await device.ask(deviceTask('dev-1', serverTask)), { type: 'heartbeat', status: 'ok', session_id: S }, 'the device takes it up under the dispatched session id')
  t.match(await started, { sessionId: S, requesterId: 'dev-1', deviceId: 'dev-1' }, 'the agent runs on A')
  t.equal(b.endpoint.sessionCount, 0, 'nothing runs on B')
  for (let i = 0; i < 100 && b.endpoint.listDispatches()[0]?.running !== true; i++) await new Promise((resolve) => setImmediate(resolve))
  t.same(b.endpoint.listDispatches().map((d) => d.running), [true], 'B is told the device took it up')
  const command = await device.next()
  t.match(command, { type: 'command', session_id: S })
  const endedOnA = nextEvent(a.endpoint, 'taskEnd')
  device.send(answer('dev-1', command))
  const record = await dispatched.done
  t.same(record, await endedOnA, 'the same record as on the device\'s node')
  t.match(record, { sessionId: S, taskName: 'notepad_task', requesterId: 'dev-1', deviceId: 'dev-1', request: 'open notepad', status: 'completed', error: null })
  t.same(b.endpoint.getResult(S), record, 'kept on the dispatching node')
  t.same(b.endpoint.getResultByTaskName('notepad task'), record)
  t.same(b.endpoint.listDispatches(), [], 'no longer listed')
  t.equal(b.endpoint.cancelSession(S), false, 'an ended dispatch is not cancelled')
})

test('a dispatch to a device registered on no node throws AIP_ERR_SERVER_CLIENT_NOT_CONNECTED, as on one node; a constellation is not a device', async (t) => {
  const cluster = testCluster(t)
  const a = await cluster.node('node-a')
  const b = await cluster.node('node-b')
  await t.rejects(b.endpoint.dispatch('nobody', 'x'), { code: 'AIP_ERR_SERVER_CLIENT_NOT_CONNECTED', message: 'Client nobody is not connected' })
  await registeredDevice(t, a.wsUrl, 'dev-2')
  await registeredConstellation(t, a.wsUrl, 'galaxy', 'dev-2')
  await t.rejects(b.endpoint.dispatch('galaxy', 'x'), { code: 'AIP_ERR_SERVER_CLIENT_NOT_CONNECTED' }, 'a constellation on another node is not a device')
})

test('a device on the dispatching node itself is dispatched to locally, with nothing through the cluster', async (t) => {
  const cluster = testCluster(t)
  const b = await cluster.node('node-b')
  await cluster.node('node-a')
  const device = await registeredDevice(t, b.wsUrl, 'dev-3')
  echoDevice(device, 'dev-3')
  const dispatched = await b.endpoint.dispatch('dev-3', 'local')
  const serverTask = (await until(device, (f) => f.type === 'task')).frame
  device.send(deviceTask('dev-3', serverTask))
  t.match(await dispatched.done, { sessionId: dispatched.sessionId, status: 'completed' })
  t.equal(cluster.hub.mailboxLength('dev-3'), 0)
})

test('a dispatch delivered twice to the device\'s node is dispatched once, and B hears of it once', async (t) => {
  const cluster = testCluster(t)
  const a = await cluster.node('node-a')
  const b = await cluster.node('node-b')
  const device = await registeredDevice(t, a.wsUrl, 'dev-4')
  const dispatched = await b.endpoint.dispatch('dev-4', 'twice', { taskName: 'twice' })
  const serverTask = await device.next()
  // The same mailbox entry handed over again (a node that died before acknowledging it would do that).
  await cluster.hub.link('node-b').send('dev-4', { kind: 'dispatch', sessionId: dispatched.sessionId, taskName: 'twice', request: 'twice', origin: 'node-b', timeoutMs: 60_000 }, 'node-a')
  t.match(await device.ask(deviceTask('dev-4', serverTask)), { type: 'heartbeat', session_id: dispatched.sessionId }, 'no second server TASK came first')
  const command = await device.next()
  device.send(answer('dev-4', command))
  t.match(await dispatched.done, { status: 'completed' })
  t.match(await device.next(), { type: 'task_end', session_id: dispatched.sessionId })
  // Once ended, a copy handed over again is answered from the record.
  await cluster.hub.link('node-b').send('dev-4', { kind: 'dispatch', sessionId: dispatched.sessionId, taskName: 'twice', request: 'twice', origin: 'node-b', timeoutMs: 60_000 }, 'node-a')
  for (let i = 0; i < 200 && cluster.hub.mailboxLength('dev-4') > 0; i++) await new Promise((resolve) => setImmediate(resolve))
  t.equal(cluster.hub.mailboxLength('dev-4'), 0, 'handled')
  t.match(await device.ask({ type: 'heartbeat', status: 'ok', client_type: 'device', client_id: 'dev-4' }), { type: 'heartbeat' }, 'and no server TASK sent again')
})
