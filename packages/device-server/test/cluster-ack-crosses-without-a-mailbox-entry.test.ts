import { test } from 'tap'
import type { ClusterFrameMessage, ClusterMessage } from '../src/index.js'
import { crossNodeTask, testCluster } from './helpers/cluster.js'

test('the ack of a forwarded TASK goes to the requester\'s node as a notice: the requester\'s mailbox gets only the TASK_END', async (t) => {
  const cluster = testCluster(t)
  const link = cluster.hub.link('node-a')
  const appended: ClusterMessage[] = []
  const noticed: ClusterFrameMessage[] = []
  const send = link.send.bind(link)
  const notifyNode = link.notifyNode.bind(link)
  link.send = async (clientId, message, wakeNode) => { appended.push(message); await send(clientId, message, wakeNode) }
  link.notifyNode = async (nodeId, clientId, message) => { noticed.push(message); await notifyNode(nodeId, clientId, message) }
  const { ack, end } = await crossNodeTask(t, cluster, 'n@1')
  t.match(ack, { type: 'heartbeat', status: 'ok', session_id: 'n@1' }, 'the ack reaches the requester')
  t.match(end, { type: 'task_end', status: 'completed', session_id: 'n@1' })
  t.same(noticed.map((m) => [m.message.type, m.sessionId, m.acks]), [['heartbeat', 'n@1', 1]], 'the ack, as a notice')
  t.same(appended.map((m) => m.kind === 'frame' ? [m.message.type, m.sessionId, m.acks] : [m.kind]), [['task_end', 'n@1', 1]], 'one mailbox entry: the TASK_END, which counts the ack')
})
