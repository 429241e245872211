import { test } from 'tap'
import { ClusterUnavailableError } from '../src/index.js'
import { Texts } from '../src/internal.js'
import { echoDevice, registeredConstellation, registeredDevice, until } from './helpers/harness.js'
import { taskFrame, testCluster } from './helpers/cluster.js'

test('with the cluster store down, local work goes on, cross-node work is refused, and it all recovers on its own', async (t) => {
  const cluster = testCluster(t)
  const a = await cluster.node('node-a')
  const b = await cluster.node('node-b')
  const remote = await registeredDevice(t, a.wsUrl, 'dev-remote')
  echoDevice(remote, 'dev-remote')
  cluster.hub.setAvailable(false)
  t.equal(b.endpoint.clusterState, 'down')

  const local = await registeredDevice(t, b.wsUrl, 'dev-local')
  echoDevice(local, 'dev-local')
  const galaxy = await registeredConstellation(t, b.wsUrl, 'galaxy', null)
  t.match(await galaxy.ask(taskFrame('galaxy', 'dev-local', 'l@1')), { type: 'heartbeat', session_id: 'l@1' }, 'a local task runs')
  t.match((await until(galaxy, (f) => f.type === 'task_end')).frame, { status: 'completed', session_id: 'l@1' })
  t.match(await galaxy.ask(taskFrame('galaxy', 'dev-remote', 'r@1')), { type: 'error', error: Texts.clusterUnavailable, session_id: 'r@1' }, 'a cross-node one is refused')
  const err = await b.endpoint.listClusterClients().catch((err: unknown) => err)
  t.ok(err instanceof ClusterUnavailableError, 'a ClusterUnavailableError')
  t.match(err, { code: 'AIP_ERR_CLUSTER_UNAVAILABLE', statusCode: 503, operation: 'list clients', message: 'The cluster is unavailable for list clients; retry later' })
  await t.rejects(b.endpoint.getClusterResult('nope'), { code: 'AIP_ERR_CLUSTER_UNAVAILABLE' })

  cluster.hub.setAvailable(true)
  let nodes: Array<[string, string]> = []
  for (let i = 0; i < 200 && nodes.length < 3; i++) {
    nodes = (await b.endpoint.listClusterClients()).map((c) => [c.clientId, c.nodeId])
    if (nodes.length < 3) await new Promise((resolve) => setTimeout(resolve, 2))
  }
  t.same(nodes, [['dev-local', 'node-b'], ['dev-remote', 'node-a'], ['galaxy', 'node-b']], 'the leases of the clients registered meanwhile are claimed')
  t.match(await galaxy.ask(taskFrame('galaxy', 'dev-remote', 'r@2')), { type: 'heartbeat', session_id: 'r@2' }, 'cross-node work goes again')
  t.match((await until(galaxy, (f) => f.type === 'task_end')).frame, { status: 'completed', session_id: 'r@2' })
})

test('without the cluster option nothing of the cluster runs: the listing is the local one', async (t) => {
  const { startServer } = await import('./helpers/harness.js')
  const { endpoint, wsUrl } = await startServer(t)
  await registeredDevice(t, wsUrl, 'dev-solo')
  t.equal(endpoint.clusterState, null)
  t.match(await endpoint.listClusterClients(), [{ clientId: 'dev-solo', nodeId: 'local', epoch: 1 }])
  t.equal(await endpoint.getClusterResult('none'), undefined)
})

test('an id registered on two nodes while the store was down goes to the newer registration once it is back', async (t) => {
  const cluster = testCluster(t)
  const a = await cluster.node('node-a')
  const b = await cluster.node('node-b')
  cluster.hub.setAvailable(false)
  const older = await registeredDevice(t, a.wsUrl, 'dev-twice')
  await new Promise((resolve) => setTimeout(resolve, 5)) // a later registration time
  await registeredDevice(t, b.wsUrl, 'dev-twice')
  cluster.hub.setAvailable(true)
  t.match(await older.closed, { code: 4004, reason: Texts.movedToAnotherNode }, 'the older one is replaced')
  t.same((await a.endpoint.listClusterClients()).map((c) => [c.clientId, c.nodeId]), [['dev-twice', 'node-b']])
  t.equal(a.endpoint.listClients().length, 0)
})
