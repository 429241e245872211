import t from 'tap'
import { echoDevice, registeredConstellation, registeredDevice, until } from '@aip/test-support'
import { Texts } from '@aip/device-server/internal'
import { redisServerOrSkip } from './helpers/redis-server.js'
import { taskFrame, testCluster } from './helpers/cluster.js'
import type { TestNode } from './helpers/cluster.js'

const server = await redisServerOrSkip(t)

async function reaches (node: TestNode, state: string): Promise<void> {
  if (node.endpoint.clusterState === state) return
  await new Promise<void>((resolve) => {
    const off = node.cluster.redis.onStateChange((health) => {
      if (health.state === state) {
        off()
        resolve()
      }
    })
  })
}

if (server !== undefined) {
  t.test('Redis stopped: local tasks go on, cross-node ones are refused; Redis back: everything resumes on its own', async (t) => {
    const node = testCluster(t, server, { redis: { maxReconnectDelayMs: 100, downAfterFailures: 2 } })
    const a = await node('node-a')
    const b = await node('node-b')
    const remote = await registeredDevice(t, a.wsUrl, 'dev-remote')
    echoDevice(remote, 'dev-remote')
    const local = await registeredDevice(t, b.wsUrl, 'dev-local')
    echoDevice(local, 'dev-local')
    const galaxy = await registeredConstellation(t, b.wsUrl, 'galaxy', null)

    const down = reaches(b, 'down')
    await server.stop()
    await down
    t.equal(b.endpoint.clusterState, 'down')
    t.match(await galaxy.ask(taskFrame('galaxy', 'dev-local', 'l@1')), { type: 'heartbeat', session_id: 'l@1' }, 'a local task runs')
    t.match((await until(galaxy, (f) => f.type === 'task_end')).frame, { status: 'completed', session_id: 'l@1' })
    t.match(await galaxy.ask(taskFrame('galaxy', 'dev-remote', 'r@1')), { type: 'error', error: Texts.clusterUnavailable, session_id: 'r@1' }, 'a cross-node task is refused')
    await t.rejects(b.endpoint.listClusterClients(), { code: 'AIP_ERR_CLUSTER_UNAVAILABLE' })
    const late = await registeredDevice(t, b.wsUrl, 'dev-late')
    t.ok(late, 'a registration is accepted locally')

    const ready = Promise.all([reaches(a, 'ready'), reaches(b, 'ready')])
    await server.start()
    await ready
    // The restarted Redis kept nothing: node leases, client leases and pending claims are written again.
    let clients: string[] = []
    for (let i = 0; i < 100 && clients.length < 4; i++) {
      clients = (await b.endpoint.listClusterClients().catch(() => [])).map((c) => `${c.clientId}@${c.nodeId}`)
      if (clients.length < 4) await new Promise((resolve) => setTimeout(resolve, 50))
    }
    t.same(clients, ['dev-late@node-b', 'dev-local@node-b', 'dev-remote@node-a', 'galaxy@node-b'])
    t.match(await galaxy.ask(taskFrame('galaxy', 'dev-remote', 'r@2')), { type: 'heartbeat', session_id: 'r@2' }, 'cross-node work goes again')
    t.match((await until(galaxy, (f) => f.type === 'task_end')).frame, { status: 'completed', session_id: 'r@2' })
  })
}
