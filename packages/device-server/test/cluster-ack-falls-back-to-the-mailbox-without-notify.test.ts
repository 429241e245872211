import { test } from 'tap'
import type { ClusterLink, ClusterMessage } from '../src/index.js'
import { crossNodeTask, testCluster } from './helpers/cluster.js'

test('a link without notifyNode: the ack of a forwarded TASK goes through the requester\'s mailbox, as before', async (t) => {
  const cluster = testCluster(t)
  const link: ClusterLink = cluster.hub.link('node-a')
  link.notifyNode = undefined
  const appended: ClusterMessage[] = []
  const send = link.send.bind(link)
  link.send = async (clientId, message, wakeNode) => { appended.push(message); await send(clientId, message, wakeNode) }
  const { ack, end } = await crossNodeTask(t, cluster, 'f@1')
  t.match(ack, { type: 'heartbeat', status: 'ok', session_id: 'f@1' }, 'the ack reaches the requester')
  t.match(end, { type: 'task_end', status: 'completed', session_id: 'f@1' }, 'then its TASK_END, once')
  t.same(appended.map((m) => m.kind === 'frame' ? [m.message.type, m.acks] : [m.kind]), [['heartbeat', 1], ['task_end', 1]], 'both in the mailbox')
})
