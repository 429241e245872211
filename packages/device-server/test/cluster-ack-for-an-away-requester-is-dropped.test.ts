import { test } from 'tap'
import type { ClusterFrameMessage } from '../src/index.js'
import { TestClient, registeredDevice } from './helpers/harness.js'
import { continuityConstellation, dropConnection } from './helpers/continuity.js'
import { answer, taskFrame, testCluster } from './helpers/cluster.js'

test('an ack for a requester away from its node is dropped there, not kept: the TASK_END brings it after the resume', async (t) => {
  const cluster = testCluster(t, {}, { resumeWindowMs: 60_000 })
  // A's ack is held on its way until the requester is away.
  const aLink = cluster.hub.link('node-a')
  const notifyNode = aLink.notifyNode.bind(aLink)
  let release: () => Promise<void> = async () => {}
  const held = new Promise<void>((resolve) => {
    aLink.notifyNode = async (nodeId, clientId, message) => {
      release = async () => { await notifyNode(nodeId, clientId, message) }
      resolve()
    }
  })
  // Resolves once node B handled a notice.
  const bLink = cluster.hub.link('node-b')
  const noticed = bLink.noticed.bind(bLink)
  const handled = new Promise<void>((resolve) => {
    bLink.noticed = (clientId: string, message: ClusterFrameMessage) => {
      noticed(clientId, message)
      setImmediate(resolve)
    }
  })
  const a = await cluster.node('node-a')
  const b = await cluster.node('node-b')
  const device = await registeredDevice(t, a.wsUrl, 'dev-1')
  const first = await TestClient.connect(t, b.wsUrl)
  await first.ask(continuityConstellation('galaxy', 'dev-1'))
  first.send(taskFrame('galaxy', 'dev-1', 'w@1'))
  const command = await device.next()
  await held
  await dropConnection(b.endpoint, first)
  await release()
  await handled
  const second = await TestClient.connect(t, b.wsUrl)
  t.match((await second.ask(continuityConstellation('galaxy', 'dev-1'))).aip, { resumed: true })
  device.send(answer('dev-1', command))
  t.match(await second.next(), { type: 'heartbeat', status: 'ok', session_id: 'w@1' }, 'the ack, written before the TASK_END')
  t.match(await second.next(), { type: 'task_end', status: 'completed', session_id: 'w@1' }, 'then the TASK_END, nothing in between')
})
