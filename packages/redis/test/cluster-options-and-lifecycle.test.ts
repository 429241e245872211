import t from 'tap'
import { RedisCluster } from '../src/index.js'
import { connect } from './helpers/common.js'
import { redisServerOrSkip } from './helpers/redis-server.js'

const handlers = { deliver: () => true, nodeMessage: () => {}, clientLost: () => {}, stateChange: () => {} }

t.test('bad options are refused with AIP_ERR_REDIS_INVALID_OPTION naming the option', async (t) => {
  t.throws(() => new RedisCluster({ nodeId: '' }), { code: 'AIP_ERR_REDIS_INVALID_OPTION', message: /nodeId/ })
  t.throws(() => new RedisCluster({ nodeLeaseMs: 5 }), { code: 'AIP_ERR_REDIS_INVALID_OPTION', message: /nodeLeaseMs/ })
  t.throws(() => new RedisCluster({ nodeLeaseMs: 1000, clientLeaseMs: 500 }), { code: 'AIP_ERR_REDIS_INVALID_OPTION', message: /clientLeaseMs/ })
  t.throws(() => new RedisCluster({ maxMailboxLength: 0 }), { code: 'AIP_ERR_REDIS_INVALID_OPTION', message: /maxMailboxLength/ })
  t.throws(() => new RedisCluster({ maxDoorbellBytes: -1 }), { code: 'AIP_ERR_REDIS_INVALID_OPTION', message: /maxDoorbellBytes/ })
  t.throws(() => new RedisCluster(null as never), { code: 'AIP_ERR_REDIS_INVALID_OPTION' })
})

const server = await redisServerOrSkip(t)

if (server !== undefined) {
  t.test('defaults: a random node id, a 10 s node lease; a shared connection stays open after stop()', async (t) => {
    const redis = await connect(t, server)
    const cluster = new RedisCluster({ connection: redis })
    t.match(cluster.nodeId, /^node-[0-9a-f-]{12}$/)
    t.equal(cluster.nodeLeaseMs, 10_000)
    t.equal(cluster.options.clientLeaseMs, 10_000)
    t.equal(cluster.state, 'ready')
    t.equal(cluster.health().state, 'ready')
    await cluster.start(handlers)
    await cluster.start(handlers) // once only
    let nodes: string[] = []
    for (let i = 0; i < 100 && nodes.length === 0; i++) {
      nodes = await cluster.listNodes()
      if (nodes.length === 0) await new Promise((resolve) => setTimeout(resolve, 10))
    }
    t.same(nodes, [cluster.nodeId], 'the node lease is written at start')
    t.equal(await cluster.isNodeAlive(cluster.nodeId), true)
    await cluster.stop()
    await cluster.stop()
    t.equal(cluster.state, 'stopped')
    t.equal(redis.health().state, 'ready', 'the shared connection is still open')
    const other = new RedisCluster({ connection: redis })
    t.equal(await other.isNodeAlive(cluster.nodeId), false, 'its node lease was released')
    t.same(await other.listNodes(), [])
  })

  t.test('a client lease is claimed, listed with its record, updated, located, and released', async (t) => {
    const redis = await connect(t, server)
    const cluster = new RedisCluster({ connection: redis, nodeId: 'n1', nodeLeaseMs: 300 })
    await cluster.start(handlers)
    t.teardown(async () => await cluster.stop())
    const record = { clientId: 'dev-1', clientType: 'device' as const, targetId: null, platform: 'linux', systemInfo: { cpu: 2 }, registeredAt: 1 }
    t.match(await cluster.claim(record, 'if-absent'), { claimed: true, replacedNode: null })
    const other = new RedisCluster({ connection: redis, nodeId: 'n2' })
    t.match(await other.claim(record, 'if-absent'), { claimed: false, holder: { clientId: 'dev-1', nodeId: 'n1', epoch: 1, platform: 'linux' } })
    await cluster.update({ ...record, systemInfo: { cpu: 4 } })
    t.match(await other.locate('dev-1'), { nodeId: 'n1', systemInfo: { cpu: 4 } })
    t.same((await other.listClients()).map((c) => c.clientId), ['dev-1'])
    await other.update(record) // not held by n2: nothing happens
    t.match(await other.locate('dev-1'), { systemInfo: { cpu: 4 } })
    await cluster.release('dev-1')
    await cluster.release('dev-1') // not held any more: nothing happens
    t.equal(await other.locate('dev-1'), null)
    t.equal(await other.getResult('none'), undefined)
    t.equal(await other.getResultByTaskName('none'), undefined)
  })

  t.test('a lease taken by another node is reported lost at the next sweep', async (t) => {
    const redis = await connect(t, server)
    const lost: string[] = []
    const cluster = new RedisCluster({ connection: redis, nodeId: 'n1', nodeLeaseMs: 60 })
    let report = (): void => {}
    const reported = new Promise<void>((resolve) => { report = resolve })
    await cluster.start({ ...handlers, clientLost: (clientId) => { lost.push(clientId); report() } })
    t.teardown(async () => await cluster.stop())
    const record = { clientId: 'dev-2', clientType: 'device' as const, targetId: null, platform: null, systemInfo: null, registeredAt: 1 }
    await cluster.claim(record, 'if-absent')
    const other = new RedisCluster({ connection: redis, nodeId: 'n2' })
    t.match(await other.claim(record, 'takeover'), { claimed: true, replacedNode: 'n1' })
    await reported
    t.same(lost, ['dev-2'])
  })
}
