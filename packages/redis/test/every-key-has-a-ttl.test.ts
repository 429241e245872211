import t from 'tap'
import { RedisDeliveryLog, RedisLeaseRegistry, RedisRecordStore, RedisResultStore, RedisStreamReader } from '../src/index.js'
import { connect } from './helpers/common.js'
import { redisServerOrSkip } from './helpers/redis-server.js'

const server = await redisServerOrSkip(t)

if (server !== undefined) {
  t.test('every key the package writes has a TTL, and all of them are under the key prefix', async (t) => {
    const redis = await connect(t, server)
    const other = await connect(t, server)
    const prefix = redis.keys.prefix
    const leases = new RedisLeaseRegistry(redis)
    const log = new RedisDeliveryLog(redis)
    const sessions = new RedisRecordStore<{ n: number }>(redis, { namespace: 'session' })
    const results = new RedisResultStore<{ sessionId: string, taskName: string }>(redis)
    const reader = new RedisStreamReader(redis, { nodeId: 'node-a' })
    t.teardown(async () => await reader.close())

    // Exercise every write path.
    const a = await leases.register('device-1', { nodeId: 'node-a', data: { x: 1 } })
    const b = await leases.register('device-2', { nodeId: 'node-b' })
    await leases.register('device-1', { nodeId: 'node-b', mode: 'takeover' })
    if (a.acquired) await leases.renew(a.lease)
    if (b.acquired) await leases.renew(b.lease)
    await leases.list()
    await leases.listByNode('node-a')
    const first = await log.append({ kind: 'device', id: 'device-1' }, 'one', { wake: 'node-a' })
    await log.append({ kind: 'device', id: 'device-1' }, 'two')
    await log.ack({ kind: 'device', id: 'device-1' }, first)
    const only = await log.append({ kind: 'node', id: 'node-b' }, 'three')
    await log.ack({ kind: 'node', id: 'node-b' }, only) // an emptied stream keeps its TTL
    await sessions.put('s1', { n: 1 })
    await sessions.put('s2', { n: 2 }, { ttlMs: 5_000 })
    await sessions.touch('s1')
    await results.put({ sessionId: 's1', taskName: 'task-a' })
    // Another cluster on the same Redis.
    await new RedisLeaseRegistry(other).register('device-1', { nodeId: 'node-z' })

    const keys: string[] = []
    let cursor = '0'
    for (let round = 0; round < 1000; round++) {
      const [next, batch] = await redis.run('test.scan', async (client) => await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 100))
      keys.push(...batch)
      cursor = next
      if (cursor === '0') break
    }
    t.equal(cursor, '0', 'the scan finished')
    const kinds = new Set(keys.map((key) => key.slice(prefix.length).split(/[:{]/)[0]))
    t.same([...kinds].sort(), ['epoch', 'lease', 'leases', 'node-leases', 'result', 'result-name', 'session', 'stream'], 'every kind of key was written')
    for (const key of keys) {
      const ttl = await redis.run('test.pttl', async (client) => await client.pttl(key))
      t.ok(ttl > 0, `${key} has a TTL (${ttl} ms)`)
    }
    const otherKeys = await other.run('test.keys', async (client) => await client.keys(`${other.keys.prefix}*`))
    t.ok(otherKeys.length > 0 && otherKeys.every((key) => !key.startsWith(prefix)), 'the other cluster\'s keys are apart')
    t.equal((await new RedisLeaseRegistry(other).get('device-1'))?.nodeId, 'node-z', 'and its leases too')
  })
}
