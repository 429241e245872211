import t from 'tap'
import { RedisLeaseRegistry } from '../src/index.js'
import { connect } from './helpers/common.js'
import { redisServerOrSkip } from './helpers/redis-server.js'

const server = await redisServerOrSkip(t)

if (server !== undefined) {
  t.test('a free client id is acquired at epoch 1, with its data, and listed on its node and cluster-wide', async (t) => {
    const redis = await connect(t, server)
    const leases = new RedisLeaseRegistry(redis, { leaseMs: 30_000 })
    const outcome = await leases.register('device-1', { nodeId: 'node-a', data: { platform: 'linux' } })
    t.equal(outcome.acquired, true)
    if (!outcome.acquired) return
    t.equal(outcome.lease.epoch, 1)
    t.equal(outcome.lease.nodeId, 'node-a')
    t.equal(outcome.replaced, null)
    const record = await leases.get('device-1')
    t.match(record, { clientId: 'device-1', nodeId: 'node-a', epoch: 1, data: { platform: 'linux' } })
    t.ok((record?.expiresInMs ?? 0) > 0 && (record?.expiresInMs ?? 0) <= 30_000, 'the lease has a TTL')
    t.notOk('token' in (record ?? {}), 'the token is not shown to readers')
    t.same((await leases.listByNode('node-a')).map((r) => r.clientId), ['device-1'])
    t.same(await leases.listByNode('node-b'), [])
    t.same((await leases.list()).map((r) => r.clientId), ['device-1'])
  })

  t.test('if-absent refuses a held id and names the holder', async (t) => {
    const redis = await connect(t, server)
    const leases = new RedisLeaseRegistry(redis)
    await leases.register('device-1', { nodeId: 'node-a' })
    const second = await leases.register('device-1', { nodeId: 'node-b' })
    t.equal(second.acquired, false)
    if (second.acquired) return
    t.match(second.holder, { clientId: 'device-1', nodeId: 'node-a', epoch: 1 })
    t.match(await leases.get('device-1'), { nodeId: 'node-a', epoch: 1 }, 'the holder is unchanged')
  })

  t.test('the holder renews and releases its lease; the id is then free and the next epoch is higher', async (t) => {
    const redis = await connect(t, server)
    const leases = new RedisLeaseRegistry(redis, { leaseMs: 10_000 })
    const first = await leases.register('device-1', { nodeId: 'node-a' })
    if (!first.acquired) return t.fail('not acquired')
    t.same(await leases.renew(first.lease), { held: true })
    t.same(await leases.check(first.lease), { held: true })
    t.equal(await leases.release(first.lease), true)
    t.equal(await leases.get('device-1'), null)
    t.same(await leases.list(), [])
    t.same(await leases.renew(first.lease), { held: false, reason: 'expired' }, 'a released lease cannot be renewed')
    t.equal(await leases.release(first.lease), false, 'nor released twice')
    const again = await leases.register('device-1', { nodeId: 'node-b' })
    t.equal(again.acquired && again.lease.epoch, 2, 'epochs only grow')
  })

  t.test('listings are in client id order and show only the node that holds each id', async (t) => {
    const redis = await connect(t, server)
    const leases = new RedisLeaseRegistry(redis)
    for (const id of ['c', 'a', 'b']) await leases.register(id, { nodeId: 'node-a' })
    await leases.register('d', { nodeId: 'node-b' })
    await leases.register('a', { nodeId: 'node-b', mode: 'takeover' })
    t.same((await leases.list()).map((r) => `${r.clientId}@${r.nodeId}`), ['a@node-b', 'b@node-a', 'c@node-a', 'd@node-b'])
    t.same((await leases.listByNode('node-a')).map((r) => r.clientId), ['b', 'c'])
    t.same((await leases.listByNode('node-b')).map((r) => r.clientId), ['a', 'd'])
  })

  t.test('bad arguments are refused with a coded error before anything is sent', async (t) => {
    const redis = await connect(t, server)
    const leases = new RedisLeaseRegistry(redis)
    await t.rejects(leases.register('', { nodeId: 'n' }), { code: 'AIP_ERR_REDIS_INVALID_ARGUMENT' })
    await t.rejects(leases.register('x'.repeat(513), { nodeId: 'n' }), { code: 'AIP_ERR_REDIS_INVALID_ARGUMENT' })
    await t.rejects(leases.register('a', { nodeId: '' }), { code: 'AIP_ERR_REDIS_INVALID_ARGUMENT' })
    await t.rejects(leases.register('a', { nodeId: 'n', mode: 'steal' as 'takeover' }), { code: 'AIP_ERR_REDIS_INVALID_ARGUMENT' })
    await t.rejects(leases.register('a', { nodeId: 'n', leaseMs: 0 }), { code: 'AIP_ERR_REDIS_INVALID_ARGUMENT' })
    await t.rejects(leases.register('a', { nodeId: 'n', data: 'x'.repeat(70_000) }), { code: 'AIP_ERR_REDIS_INVALID_ARGUMENT' })
    await t.rejects(leases.renew({ clientId: 'a', epoch: 0, token: 't', nodeId: 'n', leaseMs: 1 }), { code: 'AIP_ERR_REDIS_INVALID_ARGUMENT' })
    t.throws(() => new RedisLeaseRegistry(redis, { leaseMs: 10_000, epochRetentionMs: 5_000 }), { code: 'AIP_ERR_REDIS_INVALID_OPTION' })
    t.same(await leases.list(), [], 'nothing was registered')
  })
}
