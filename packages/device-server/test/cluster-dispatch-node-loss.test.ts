import { test } from 'tap'
import { Texts } from '../src/internal.js'
import { registeredDevice, until } from './helpers/harness.js'
import { nextEvent } from './helpers/continuity.js'
import { answer, testCluster } from './helpers/cluster.js'

test('a dispatch whose device\'s node is lost ends once on the dispatching node with the node-lost text; late news is dropped', async (t) => {
  const cluster = testCluster(t, { nodeLeaseMs: 40 })
  const a = await cluster.node('node-a')
  const b = await cluster.node('node-b')
  const device = await registeredDevice(t, a.wsUrl, 'dev-n')
  const dispatched = await b.endpoint.dispatch('dev-n', 'open', { taskName: 'lost-task' })
  const serverTask = await device.next()
  device.send({ type: 'task', status: 'continue', client_type: 'device', client_id: 'dev-n', session_id: dispatched.sessionId, task_name: serverTask.task_name, request: serverTask.user_request })
  const command = (await until(device, (f) => f.type === 'command')).frame
  let endsOnB = 0
  t.teardown(b.endpoint.on('taskEnd', () => { endsOnB++ }))
  cluster.hub.loseNode('node-a')
  const record = await dispatched.done
  t.match(record, { sessionId: dispatched.sessionId, taskName: 'lost-task', requesterId: 'dev-n', deviceId: 'dev-n', request: 'open', status: 'failed', error: Texts.nodeLost, result: null })
  t.same(b.endpoint.getResult(dispatched.sessionId), record, 'kept on B')
  t.match(await b.endpoint.getClusterResultByTaskName('lost-task'), { status: 'failed', error: Texts.nodeLost }, 'and in the cluster')
  t.same(b.endpoint.listDispatches(), [])

  // A was only paused: the device answers, A ends the task; B keeps the outcome it gave.
  cluster.hub.link('node-a').lost = false
  const endedOnA = nextEvent(a.endpoint, 'taskEnd')
  device.send(answer('dev-n', command))
  await endedOnA
  for (let i = 0; i < 50; i++) await new Promise((resolve) => setImmediate(resolve))
  t.equal(endsOnB, 1, 'one end on B')
  t.match(b.endpoint.getResult(dispatched.sessionId), { error: Texts.nodeLost }, 'unchanged')
})
