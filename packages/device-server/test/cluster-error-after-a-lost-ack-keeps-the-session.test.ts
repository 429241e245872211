import { test } from 'tap'
import { Texts } from '../src/internal.js'
import { registeredConstellation, registeredDevice } from './helpers/harness.js'
import { answer, taskFrame, testCluster } from './helpers/cluster.js'

test('an ERROR after a lost ack: the ack is written before it, and the session goes on to its TASK_END', async (t) => {
  const cluster = testCluster(t)
  const a = await cluster.node('node-a')
  const b = await cluster.node('node-b')
  const device = await registeredDevice(t, a.wsUrl, 'dev-1')
  const galaxy = await registeredConstellation(t, b.wsUrl, 'galaxy', 'dev-1')
  cluster.hub.setNoticesLost(true)
  galaxy.send(taskFrame('galaxy', 'dev-1', 'e@1'))
  const command = await device.next()
  t.match(command, { type: 'command', session_id: 'e@1' }, 'the task runs on A; its ack is lost')
  // The same TASK again: A refuses it (the session runs) with an ERROR made after the ack.
  galaxy.send(taskFrame('galaxy', 'dev-1', 'e@1'))
  t.match(await galaxy.next(), { type: 'heartbeat', status: 'ok', session_id: 'e@1' }, 'the ack first')
  t.match(await galaxy.next(), { type: 'error', error: Texts.sessionRunning('e@1'), session_id: 'e@1' }, 'then the ERROR')
  t.same((await b.endpoint.listClusterSessions()).map((s) => s.sessionId), ['e@1'], 'the session still runs')
  device.send(answer('dev-1', command))
  t.match(await galaxy.next(), { type: 'task_end', status: 'completed', session_id: 'e@1' }, 'its TASK_END reaches the requester')
})
