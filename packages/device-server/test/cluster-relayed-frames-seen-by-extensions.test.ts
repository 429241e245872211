import { test } from 'tap'
import { answer, crossNodePair, taskFrame, testCluster } from './helpers/cluster.js'
import { countFrameReads } from './helpers/lazy-frames.js'

test('an extension on the requester\'s node sees the messages of the frames relayed to it, read for it alone', async (t) => {
  const cluster = testCluster(t)
  const reads = countFrameReads(cluster.hub.link('node-b'))
  const { b, device, galaxy } = await crossNodePair(t, cluster)
  const sent: Array<[string, string | null | undefined]> = []
  t.teardown(b.endpoint.use({ name: 'outbound', onSend: (message) => { sent.push([message.type, message.session_id]) } }))
  t.match(await galaxy.ask(taskFrame('galaxy', 'dev-1', 'e@1')), { type: 'heartbeat', status: 'ok', session_id: 'e@1' })
  const command = await device.next()
  device.send(answer('dev-1', command))
  t.match(await galaxy.next(), { type: 'task_end', status: 'completed', session_id: 'e@1' })
  t.same(sent, [['heartbeat', 'e@1'], ['task_end', 'e@1']], 'the extension saw the ack and the TASK_END')
  t.same(reads.types, ['heartbeat', 'task_end'], 'each frame\'s object read once, for the extension')
})
