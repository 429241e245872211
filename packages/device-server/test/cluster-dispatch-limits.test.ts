import { test } from 'tap'
import { registeredDevice } from './helpers/harness.js'
import { testCluster } from './helpers/cluster.js'

test('maxDispatchesPerDevice of the device\'s node refuses a dispatch from another node as it refuses a local one', async (t) => {
  const cluster = testCluster(t)
  const a = await cluster.node('node-a', { maxDispatchesPerDevice: 1 })
  const b = await cluster.node('node-b')
  const device = await registeredDevice(t, a.wsUrl, 'busy-dev')
  const first = await a.endpoint.dispatch('busy-dev', 'local one')
  t.match(await device.next(), { type: 'task', session_id: first.sessionId })
  await t.rejects(b.endpoint.dispatch('busy-dev', 'remote one'), { code: 'AIP_ERR_SERVER_TOO_MANY_DISPATCHES', message: 'Device busy-dev already has 1 dispatched tasks running' })
  t.same(b.endpoint.listDispatches(), [], 'nothing left on B')
  t.equal(a.endpoint.listDispatches().length, 1, 'nor on A')
})

test('maxDispatchesPerDevice of the dispatching node bounds its own dispatches to a device elsewhere', async (t) => {
  const cluster = testCluster(t)
  const a = await cluster.node('node-a')
  const b = await cluster.node('node-b', { maxDispatchesPerDevice: 1 })
  await registeredDevice(t, a.wsUrl, 'dev-l')
  await b.endpoint.dispatch('dev-l', 'one')
  await t.rejects(b.endpoint.dispatch('dev-l', 'two'), { code: 'AIP_ERR_SERVER_TOO_MANY_DISPATCHES', message: 'Device dev-l already has 1 dispatched tasks running' })
})

test('the request-size limit: the dispatching node\'s at once, the device\'s node\'s when it is smaller', async (t) => {
  const cluster = testCluster(t)
  const a = await cluster.node('node-a', { maxRequestBytes: 8 })
  const b = await cluster.node('node-b', { maxRequestBytes: 16 })
  await registeredDevice(t, a.wsUrl, 'dev-r')
  await t.rejects(b.endpoint.dispatch('dev-r', 'x'.repeat(17)), { code: 'AIP_ERR_SERVER_REQUEST_TOO_LARGE', message: 'The request is longer than 16 bytes' })
  t.equal(cluster.hub.mailboxLength('dev-r'), 0, 'refused before the cluster')
  await t.rejects(b.endpoint.dispatch('dev-r', 'x'.repeat(12)), { code: 'AIP_ERR_SERVER_REQUEST_TOO_LARGE', message: 'The request is longer than 8 bytes' })
})

test('a draining device node refuses a dispatch from another node with AIP_ERR_SERVER_DRAINING', async (t) => {
  const cluster = testCluster(t)
  const a = await cluster.node('node-a', { drainReconnectSpreadMs: 0 })
  const b = await cluster.node('node-b')
  const device = await registeredDevice(t, a.wsUrl, 'dev-d')
  // A task runs on A, so that its drain waits (new tasks refused) until the signal ends it.
  const running = await a.endpoint.dispatch('dev-d', 'hold')
  const serverTask = await device.next()
  device.send({ type: 'task', status: 'continue', client_type: 'device', client_id: 'dev-d', session_id: null, task_name: serverTask.task_name, request: serverTask.user_request })
  t.match(await device.next(), { type: 'heartbeat', session_id: running.sessionId })
  const stop = new AbortController()
  const draining = a.endpoint.drain({ deadlineMs: 60_000, signal: stop.signal })
  t.teardown(async () => {
    stop.abort()
    await draining
  })
  await t.rejects(b.endpoint.dispatch('dev-d', 'x'), { code: 'AIP_ERR_SERVER_DRAINING' })
})
