import { test } from 'tap'
import { Texts } from '../src/internal.js'
import { registeredDevice, until, type TestClient } from './helpers/harness.js'
import { nextEvent } from './helpers/continuity.js'
import { testCluster } from './helpers/cluster.js'

/** Takes the server TASK up (as a Python device does) and returns the first COMMAND of its agent. */
async function takeUp (device: TestClient, clientId: string): Promise<Record<string, any>> {
  const serverTask = (await until(device, (f) => f.type === 'task')).frame
  device.send({ type: 'task', status: 'continue', client_type: 'device', client_id: clientId, session_id: null, task_name: serverTask.task_name, request: serverTask.user_request })
  return (await until(device, (f) => f.type === 'command')).frame
}

test('the deadline of a dispatch on B cancels the task running on A: done rejects on B, the device gets TASK_END failed', async (t) => {
  const cluster = testCluster(t)
  const a = await cluster.node('node-a')
  const b = await cluster.node('node-b')
  const device = await registeredDevice(t, a.wsUrl, 'slow-dev')
  const dispatched = await b.endpoint.dispatch('slow-dev', 'hang', { taskName: 'hang', timeoutMs: 150 })
  t.match(await takeUp(device, 'slow-dev'), { session_id: dispatched.sessionId }, 'a COMMAND nobody answers')
  const endedOnA = nextEvent(a.endpoint, 'taskEnd')
  await t.rejects(dispatched.done, { code: 'AIP_ERR_SERVER_SESSION_CANCELLED', reason: 'timed out' }, 'done rejects at the deadline, as for a local dispatch')
  t.match(await until(device, (f) => f.type === 'task_end'), { frame: { status: 'failed', session_id: dispatched.sessionId, error: Texts.taskCancelled('timed out') } })
  t.match(await endedOnA, { sessionId: dispatched.sessionId, status: 'failed', error: Texts.taskCancelled('timed out') })
  t.equal(a.endpoint.sessionCount, 0)
  t.same(b.endpoint.listDispatches(), [])
})

test('the signal of a dispatch on B aborts the task running on A', async (t) => {
  const cluster = testCluster(t)
  const a = await cluster.node('node-a')
  const b = await cluster.node('node-b')
  const device = await registeredDevice(t, a.wsUrl, 'abort-dev')
  const controller = new AbortController()
  const dispatched = await b.endpoint.dispatch('abort-dev', 'hang', { signal: controller.signal })
  await takeUp(device, 'abort-dev')
  const endedOnA = nextEvent(a.endpoint, 'taskEnd')
  controller.abort()
  await t.rejects(dispatched.done, { code: 'AIP_ERR_SERVER_SESSION_CANCELLED', reason: 'aborted' })
  t.match(await endedOnA, { sessionId: dispatched.sessionId, status: 'failed', error: Texts.taskCancelled('aborted') })
  t.match(await until(device, (f) => f.type === 'task_end'), { frame: { status: 'failed', session_id: dispatched.sessionId } })
})

test('an abort before the device takes the task up withdraws it on A; an aborted signal is refused at once', async (t) => {
  const cluster = testCluster(t)
  const a = await cluster.node('node-a')
  const b = await cluster.node('node-b')
  const device = await registeredDevice(t, a.wsUrl, 'early-dev')
  const controller = new AbortController()
  const dispatched = await b.endpoint.dispatch('early-dev', 'x', { signal: controller.signal })
  t.match(await device.next(), { type: 'task', session_id: dispatched.sessionId })
  t.equal(a.endpoint.listDispatches().length, 1, 'pending on A')
  controller.abort()
  await t.rejects(dispatched.done, { code: 'AIP_ERR_SERVER_SESSION_CANCELLED', reason: 'aborted' })
  for (let i = 0; i < 200 && a.endpoint.listDispatches().length > 0; i++) await new Promise((resolve) => setImmediate(resolve))
  t.same(a.endpoint.listDispatches(), [], 'withdrawn on A')
  await t.rejects(b.endpoint.dispatch('early-dev', 'y', { signal: AbortSignal.abort() }), { name: 'AbortError' })
  t.same(b.endpoint.listDispatches(), [])
})

test('a device\'s node that never takes the dispatch: dispatch() rejects with AIP_ERR_CLUSTER_UNAVAILABLE, and the dispatch is withdrawn', async (t) => {
  const cluster = testCluster(t, {}, { takeoverProbeMs: 20 })
  const a = await cluster.node('node-a')
  const b = await cluster.node('node-b')
  const device = await registeredDevice(t, a.wsUrl, 'deaf-node-dev')
  // Node A stops reading the device's mailbox (its reader is stuck).
  cluster.hub.link('node-a').unfollow('deaf-node-dev')
  await t.rejects(b.endpoint.dispatch('deaf-node-dev', 'x'), { code: 'AIP_ERR_CLUSTER_UNAVAILABLE' })
  t.same(b.endpoint.listDispatches(), [])
  t.equal(cluster.hub.mailboxLength('deaf-node-dev'), 2, 'the dispatch and its withdrawal wait in the mailbox')
  cluster.hub.link('node-a').follow('deaf-node-dev')
  for (let i = 0; i < 200 && cluster.hub.mailboxLength('deaf-node-dev') > 0; i++) await new Promise((resolve) => setImmediate(resolve))
  t.same(a.endpoint.listDispatches(), [], 'read later, it is withdrawn at once')
  t.match(await device.next(), { type: 'task' }, 'the device saw the server TASK (a local dispatch withdrawn before take-up does the same)')
})
