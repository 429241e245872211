import { test } from 'tap'
import { registeredConstellation, registeredDevice, until } from './helpers/harness.js'
import { taskFrame, testCluster } from './helpers/cluster.js'

test('listClusterSessions lists the sessions of every node with the node running each; a node that does not answer is left out', async (t) => {
  const cluster = testCluster(t, {}, { takeoverProbeMs: 1 })
  const a = await cluster.node('node-a')
  const b = await cluster.node('node-b')
  const devA = await registeredDevice(t, a.wsUrl, 'dev-a')
  const devB = await registeredDevice(t, b.wsUrl, 'dev-b')
  const galaxy = await registeredConstellation(t, b.wsUrl, 'galaxy', null)
  t.match(await galaxy.ask(taskFrame('galaxy', 'dev-a', 's@a')), { type: 'heartbeat', session_id: 's@a' })
  t.match(await galaxy.ask(taskFrame('galaxy', 'dev-b', 's@b')), { type: 'heartbeat', session_id: 's@b' })
  await until(devA, (f) => f.type === 'command')
  await until(devB, (f) => f.type === 'command')
  // A node that is alive but never answers (its server hangs).
  await cluster.hub.link('node-ghost').start({ deliver: () => true, nodeMessage: () => {}, clientLost: () => {}, stateChange: () => {} })
  t.teardown(async () => await cluster.hub.link('node-ghost').stop())
  const listed = await b.endpoint.listClusterSessions()
  t.same(listed.map((s) => [s.sessionId, s.nodeId, s.deviceId, s.requesterId]).sort(), [
    ['s@a', 'node-a', 'dev-a', 'galaxy'],
    ['s@b', 'node-b', 'dev-b', 'galaxy']
  ])
  t.same((await a.endpoint.listClusterSessions()).map((s) => s.sessionId).sort(), ['s@a', 's@b'], 'the same from A')
  t.same(b.endpoint.listSessions().map((s) => s.sessionId), ['s@b'], 'listSessions stays local')
})

test('without a cluster, listClusterSessions is the local listing', async (t) => {
  const { startServer } = await import('./helpers/harness.js')
  const { endpoint, wsUrl } = await startServer(t)
  await registeredDevice(t, wsUrl, 'dev-solo')
  const galaxy = await registeredConstellation(t, wsUrl, 'galaxy', 'dev-solo')
  await galaxy.ask(taskFrame('galaxy', 'dev-solo', 'solo@1'))
  t.match(await endpoint.listClusterSessions(), [{ sessionId: 'solo@1', nodeId: 'local' }])
})
