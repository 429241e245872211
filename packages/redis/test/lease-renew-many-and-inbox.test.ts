import t from 'tap'
import { RedisDeliveryLog, RedisLeaseRegistry } from '../src/index.js'
import type { Lease } from '../src/index.js'
import { connect } from './helpers/common.js'
import { redisServerOrSkip } from './helpers/redis-server.js'

const server = await redisServerOrSkip(t)

if (server !== undefined) {
  t.test('renewMany renews every lease still held and reports each lost one, in order', async (t) => {
    const redis = await connect(t, server)
    const leases = new RedisLeaseRegistry(redis, { leaseMs: 10_000 })
    const held: Lease[] = []
    for (let i = 0; i < 3; i++) {
      const outcome = await leases.register(`device-${i}`, { nodeId: 'node-a' })
      if (!outcome.acquired) throw new Error('not acquired')
      held.push(outcome.lease)
    }
    // device-1 is taken over by node B; device-2 is released (as if it had expired).
    await leases.register('device-1', { nodeId: 'node-b', mode: 'takeover' })
    await leases.release(held[2] as Lease)
    const before = await leases.get('device-0')
    await new Promise((resolve) => setTimeout(resolve, 20))
    t.same(await leases.renewMany(held), [{ held: true }, { held: false, reason: 'fenced' }, { held: false, reason: 'expired' }])
    const after = await leases.get('device-0')
    t.ok((after?.renewedAt ?? 0) > (before?.renewedAt ?? 0), 'the held lease was renewed')
    t.match(await leases.get('device-1'), { nodeId: 'node-b' }, 'a fenced lease is left to its new holder')
    t.same((await leases.listByNode('node-a')).map((r) => r.clientId), ['device-0'])
    t.same(await leases.renewMany([]), [])
    await t.rejects(leases.renewMany('x' as unknown as Lease[]), { code: 'AIP_ERR_REDIS_INVALID_ARGUMENT' })
  })

  t.test('renewMany renews more leases than one script call takes', async (t) => {
    const redis = await connect(t, server)
    const leases = new RedisLeaseRegistry(redis, { leaseMs: 10_000 })
    const held = await Promise.all(Array.from({ length: 1200 }, async (_, i) => {
      const outcome = await leases.register(`d${i}`, { nodeId: 'node-a' })
      if (!outcome.acquired) throw new Error('not acquired')
      return outcome.lease
    }))
    const checks = await leases.renewMany(held)
    t.equal(checks.length, 1200)
    t.ok(checks.every((check) => check.held))
  })

  t.test('a registration with an inbox answers the entries waiting in it', async (t) => {
    const redis = await connect(t, server)
    const leases = new RedisLeaseRegistry(redis)
    const log = new RedisDeliveryLog(redis)
    const empty = await leases.register('device-1', { nodeId: 'node-a', inbox: { kind: 'device', id: 'device-1' } })
    t.match(empty, { acquired: true, waiting: 0 })
    await log.append({ kind: 'device', id: 'device-2' }, 'waiting-1')
    await log.append({ kind: 'device', id: 'device-2' }, 'waiting-2')
    t.match(await leases.register('device-2', { nodeId: 'node-a', inbox: { kind: 'device', id: 'device-2' } }), { acquired: true, waiting: 2 })
    const plain = await leases.register('device-3', { nodeId: 'node-a' })
    t.notOk('waiting' in plain, 'no inbox, no count')
    await t.rejects(leases.register('device-4', { nodeId: 'node-a', inbox: { kind: 'room' as 'node', id: 'x' } }), { code: 'AIP_ERR_REDIS_INVALID_ARGUMENT' })
  })

  t.test('registrations of one turn go together and are answered as if sent one by one', async (t) => {
    const redis = await connect(t, server)
    const leases = new RedisLeaseRegistry(redis)
    const [first, second, takeover, other] = await Promise.all([
      leases.register('device-1', { nodeId: 'node-a', data: { n: 1 } }),
      leases.register('device-1', { nodeId: 'node-b' }),
      leases.register('device-1', { nodeId: 'node-c', mode: 'takeover' }),
      leases.register('device-2', { nodeId: 'node-a', leaseMs: 5000 })
    ])
    t.match(first, { acquired: true, lease: { epoch: 1, nodeId: 'node-a' }, replaced: null })
    t.match(second, { acquired: false, holder: { nodeId: 'node-a', epoch: 1, data: { n: 1 } } }, 'refused: the first holds it')
    t.match(takeover, { acquired: true, lease: { epoch: 2, nodeId: 'node-c' }, replaced: { nodeId: 'node-a', epoch: 1 } })
    t.match(other, { acquired: true, lease: { epoch: 1, leaseMs: 5000 } })
    t.match(await leases.get('device-1'), { nodeId: 'node-c', epoch: 2 })
    const ttl = await redis.run('test.ttl', async (client) => await client.pttl(redis.keys.nodeLeases('node-a')))
    t.ok(ttl > 5000, 'an index keeps the TTL of its longest lease')
  })

  t.test('lookups of one turn share one script call, each answered', async (t) => {
    const redis = await connect(t, server)
    const leases = new RedisLeaseRegistry(redis)
    await leases.register('device-1', { nodeId: 'node-a', data: { n: 1 } })
    await leases.register('device-2', { nodeId: 'node-b' })
    const [one, two, none] = await Promise.all([leases.get('device-1'), leases.get('device-2'), leases.get('nobody')])
    t.match(one, { clientId: 'device-1', nodeId: 'node-a', data: { n: 1 } })
    t.match(two, { clientId: 'device-2', nodeId: 'node-b', data: null })
    t.equal(none, null)
  })
}
