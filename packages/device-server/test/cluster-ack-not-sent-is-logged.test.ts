import { test } from 'tap'
import { ClusterUnavailableError } from '../src/index.js'
import { registeredConstellation, registeredDevice } from './helpers/harness.js'
import { answer, taskFrame, testCluster } from './helpers/cluster.js'

test('an ack the store could not take is logged, nothing throws, and the TASK_END brings it', async (t) => {
  const warned: string[] = []
  const logger = { debug: () => {}, info: () => {}, warn: (_obj: unknown, msg?: string) => { warned.push(msg ?? '') }, error: () => {} }
  const cluster = testCluster(t)
  const link = cluster.hub.link('node-a')
  link.notifyNode = async () => { throw new ClusterUnavailableError('notify') }
  const a = await cluster.node('node-a', { logger })
  const b = await cluster.node('node-b')
  const device = await registeredDevice(t, a.wsUrl, 'dev-1')
  const galaxy = await registeredConstellation(t, b.wsUrl, 'galaxy', 'dev-1')
  galaxy.send(taskFrame('galaxy', 'dev-1', 'u@1'))
  const command = await device.next()
  t.match(command, { type: 'command', session_id: 'u@1' }, 'the task runs on A')
  device.send(answer('dev-1', command))
  t.match(await galaxy.next(), { type: 'heartbeat', status: 'ok', session_id: 'u@1' }, 'the ack first')
  t.match(await galaxy.next(), { type: 'task_end', status: 'completed', session_id: 'u@1' }, 'then the TASK_END')
  t.ok(warned.some((msg) => msg.startsWith('cluster: ack for a requester on another node not sent')), 'logged on A')
})
