import { test } from 'tap'
import { registeredConstellation, registeredDevice } from './helpers/harness.js'
import { answer, taskFrame, testCluster } from './helpers/cluster.js'

test('an ack lost on its way is written to the requester right before its TASK_END, once', async (t) => {
  const cluster = testCluster(t)
  const a = await cluster.node('node-a')
  const b = await cluster.node('node-b')
  const device = await registeredDevice(t, a.wsUrl, 'dev-1')
  const galaxy = await registeredConstellation(t, b.wsUrl, 'galaxy', 'dev-1')
  cluster.hub.setNoticesLost(true)
  galaxy.send(taskFrame('galaxy', 'dev-1', 'l@1'))
  const command = await device.next()
  t.match(command, { type: 'command', session_id: 'l@1' }, 'the task runs on A; its ack is lost')
  cluster.hub.setNoticesLost(false)
  device.send(answer('dev-1', command))
  t.match(await galaxy.next(), { type: 'heartbeat', status: 'ok', session_id: 'l@1' }, 'the ack first')
  t.match(await galaxy.next(), { type: 'task_end', status: 'completed', session_id: 'l@1' }, 'then the TASK_END')
  // The next task's ack crosses as a notice again: nothing of the first one comes in between.
  t.match(await galaxy.ask(taskFrame('galaxy', 'dev-1', 'l@2')), { type: 'heartbeat', session_id: 'l@2' })
})
