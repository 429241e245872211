import t from 'tap'
import { RedisLeaseRegistry } from '../src/index.js'
import { connect, eventually } from './helpers/common.js'
import { redisServerOrSkip } from './helpers/redis-server.js'

const server = await redisServerOrSkip(t)

if (server !== undefined) {
  t.test('leases of a node that stops renewing expire, while a renewed one on another node lives', async (t) => {
    const redis = await connect(t, server)
    const leases = new RedisLeaseRegistry(redis)
    const dead = await leases.register('device-1', { nodeId: 'node-a', leaseMs: 150 })
    // The live lease is long enough that a slow turn of a busy machine between two renewals cannot end it.
    const alive = await leases.register('device-2', { nodeId: 'node-b', leaseMs: 10_000 })
    if (!dead.acquired || !alive.acquired) return t.fail('not acquired')
    const expired = await eventually(async () => {
      t.same(await leases.renew(alive.lease), { held: true }, 'the live node renews')
      return await leases.get('device-1') === null
    })
    t.ok(expired, 'the lease of the node that stopped renewing expired')
    t.same(await leases.listByNode('node-a'), [], 'its node lists nothing')
    t.same((await leases.list()).map((r) => r.clientId), ['device-2'])
    t.same(await leases.renew(dead.lease), { held: false, reason: 'expired' }, 'a paused holder that wakes up cannot renew')
    const next = await leases.register('device-1', { nodeId: 'node-b' })
    t.equal(next.acquired && next.lease.epoch, 2, 'the id is free again, at the next epoch')
  })
}
