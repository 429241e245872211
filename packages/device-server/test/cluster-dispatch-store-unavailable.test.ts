import { test } from 'tap'
import { echoDevice, registeredDevice, until } from './helpers/harness.js'
import { answer, testCluster } from './helpers/cluster.js'

test('while the store is away a dispatch to another node is refused with AIP_ERR_CLUSTER_UNAVAILABLE; local ones go on; it works again once back', async (t) => {
  const cluster = testCluster(t)
  const a = await cluster.node('node-a')
  const b = await cluster.node('node-b')
  const remote = await registeredDevice(t, a.wsUrl, 'dev-a')
  const local = await registeredDevice(t, b.wsUrl, 'dev-b')
  echoDevice(local, 'dev-b', { answerServerTasks: true })
  cluster.hub.setAvailable(false)
  await t.rejects(b.endpoint.dispatch('dev-a', 'x'), { code: 'AIP_ERR_CLUSTER_UNAVAILABLE', statusCode: 503 })
  await t.rejects(b.endpoint.dispatch('nobody', 'x'), { code: 'AIP_ERR_CLUSTER_UNAVAILABLE' }, 'a device unknown here cannot be looked up either')
  const here = await b.endpoint.dispatch('dev-b', 'local')
  t.match(await here.done, { status: 'completed' }, 'a device of this node is served as on one node')
  t.same(b.endpoint.listDispatches(), [])

  cluster.hub.setAvailable(true)
  const dispatched = await b.endpoint.dispatch('dev-a', 'again')
  const serverTask = await remote.next()
  remote.send({ type: 'task', status: 'continue', client_type: 'device', client_id: 'dev-a', session_id: dispatched.sessionId, task_name: serverTask.task_name, request: serverTask.user_request })
  remote.send(answer('dev-a', (await until(remote, (f) => f.type === 'command')).frame))
  t.match(await dispatched.done, { status: 'completed' })
})
