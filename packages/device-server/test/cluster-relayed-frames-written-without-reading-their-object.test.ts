import { test } from 'tap'
import { registeredConstellation, registeredDevice } from './helpers/harness.js'
import { crossNodeTask, taskFrame, testCluster } from './helpers/cluster.js'
import { countFrameReads } from './helpers/lazy-frames.js'

test('the requester\'s node writes the ack and the TASK_END it relays as their text, without reading their objects', async (t) => {
  const cluster = testCluster(t)
  const reads = countFrameReads(cluster.hub.link('node-b'))
  const { ack, end } = await crossNodeTask(t, cluster, 'z@1')
  t.match(ack, { type: 'heartbeat', status: 'ok', session_id: 'z@1' }, 'the ack, a notice')
  t.match(end, { type: 'task_end', status: 'completed', session_id: 'z@1' }, 'the TASK_END, a mailbox entry')
  t.same(reads.types, [], 'no frame object was read on node B')
})

test('a refusal relayed to the requester\'s node is written without its object being read', async (t) => {
  const cluster = testCluster(t)
  const reads = countFrameReads(cluster.hub.link('node-b'))
  const a = await cluster.node('node-a', { maxSessionsPerClient: 1 })
  const b = await cluster.node('node-b')
  const device = await registeredDevice(t, a.wsUrl, 'dev-2')
  const galaxy = await registeredConstellation(t, b.wsUrl, 'galaxy', 'dev-2')
  t.match(await galaxy.ask(taskFrame('galaxy', 'dev-2', 'z@1')), { type: 'heartbeat', session_id: 'z@1' })
  t.match(await galaxy.ask(taskFrame('galaxy', 'dev-2', 'z@2')), { type: 'error', session_id: 'z@2' }, 'the second TASK refused on A')
  t.match(await device.next(), { type: 'command', session_id: 'z@1' }, 'the first TASK runs on A')
  t.same(reads.types, [], 'no frame object was read on node B')
})
