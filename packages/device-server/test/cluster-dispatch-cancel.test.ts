import { test } from 'tap'
import { Texts } from '../src/internal.js'
import { registeredDevice, until } from './helpers/harness.js'
import { testCluster } from './helpers/cluster.js'

test('cancelSession on the dispatching node ends a dispatch running on another node with a failed record', async (t) => {
  const cluster = testCluster(t)
  const a = await cluster.node('node-a')
  const b = await cluster.node('node-b')
  const device = await registeredDevice(t, a.wsUrl, 'dev-c')
  const dispatched = await b.endpoint.dispatch('dev-c', 'hang')
  const serverTask = await device.next()
  device.send({ type: 'task', status: 'continue', client_type: 'device', client_id: 'dev-c', session_id: dispatched.sessionId, task_name: serverTask.task_name, request: serverTask.user_request })
  await until(device, (f) => f.type === 'command')
  t.equal(b.endpoint.cancelSession(dispatched.sessionId, 'operator' as never), true, 'known on B')
  const record = await dispatched.done
  t.match(record, { sessionId: dispatched.sessionId, status: 'failed', error: Texts.taskCancelled('operator') }, 'as a local running dispatch: a failed record')
  t.match(await until(device, (f) => f.type === 'task_end'), { frame: { status: 'failed', error: Texts.taskCancelled('operator') } })
  t.same(b.endpoint.getResult(dispatched.sessionId), record, 'kept on B')
  t.equal(b.endpoint.cancelSession(dispatched.sessionId), false, 'ended')
})

test('cancelSession before the device takes the task up withdraws it: done rejects with the reason', async (t) => {
  const cluster = testCluster(t)
  const a = await cluster.node('node-a')
  const b = await cluster.node('node-b')
  const device = await registeredDevice(t, a.wsUrl, 'dev-w')
  const dispatched = await b.endpoint.dispatch('dev-w', 'later')
  t.match(await device.next(), { type: 'task', session_id: dispatched.sessionId })
  t.equal(b.endpoint.cancelSession(dispatched.sessionId), true)
  await t.rejects(dispatched.done, { code: 'AIP_ERR_SERVER_SESSION_CANCELLED', reason: 'cancelled' })
  t.same(a.endpoint.listDispatches(), [], 'gone on A')
  t.same(b.endpoint.listDispatches(), [], 'and on B')
})

test('a device that leaves its node before taking the task up: done rejects with AIP_ERR_SERVER_CLIENT_NOT_CONNECTED', async (t) => {
  const cluster = testCluster(t)
  const a = await cluster.node('node-a')
  const b = await cluster.node('node-b')
  const device = await registeredDevice(t, a.wsUrl, 'dev-gone')
  const dispatched = await b.endpoint.dispatch('dev-gone', 'never')
  t.match(await device.next(), { type: 'task' })
  device.ws.close()
  await t.rejects(dispatched.done, { code: 'AIP_ERR_SERVER_CLIENT_NOT_CONNECTED', message: 'Client dev-gone is not connected' })
})

test('stopping the dispatching node withdraws its dispatches on other nodes: done rejects with AIP_ERR_SERVER_STOPPED', async (t) => {
  const cluster = testCluster(t)
  const a = await cluster.node('node-a')
  const b = await cluster.node('node-b')
  const device = await registeredDevice(t, a.wsUrl, 'dev-s')
  const dispatched = await b.endpoint.dispatch('dev-s', 'hang')
  const serverTask = await device.next()
  device.send({ type: 'task', status: 'continue', client_type: 'device', client_id: 'dev-s', session_id: dispatched.sessionId, task_name: serverTask.task_name, request: serverTask.user_request })
  await until(device, (f) => f.type === 'command')
  const rejected = t.rejects(dispatched.done, { code: 'AIP_ERR_SERVER_STOPPED' })
  await b.endpoint.stop()
  await rejected
  t.match(await until(device, (f) => f.type === 'task_end'), { frame: { status: 'failed', error: Texts.taskCancelled('the dispatching server stopped') } }, 'the task on A is cancelled')
})
