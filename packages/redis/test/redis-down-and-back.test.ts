import t from 'tap'
import { RedisDeliveryLog, RedisLeaseRegistry, RedisRecordStore, RedisStreamReader, RedisUnavailableError } from '../src/index.js'
import type { RedisConnection, RedisConnectionState } from '../src/index.js'
import { connect } from './helpers/common.js'
import { redisServerOrSkip } from './helpers/redis-server.js'

const server = await redisServerOrSkip(t)

function reaches (redis: RedisConnection, state: RedisConnectionState): Promise<void> {
  return new Promise((resolve) => {
    if (redis.health().state === state) return resolve()
    const off = redis.onStateChange((health) => {
      if (health.state === state) {
        off()
        resolve()
      }
    })
  })
}

if (server !== undefined) {
  t.test('Redis stopped: operations fail fast with AIP_ERR_REDIS_UNAVAILABLE; restarted: everything works again', async (t) => {
    const redis = await connect(t, server, { maxReconnectDelayMs: 100, downAfterFailures: 2 })
    const leases = new RedisLeaseRegistry(redis)
    const log = new RedisDeliveryLog(redis)
    const records = new RedisRecordStore<string>(redis, { namespace: 'session' })
    const reader = new RedisStreamReader(redis, { nodeId: 'node-a', pollIntervalMs: 60_000 })
    t.teardown(async () => await reader.close())
    const got: string[] = []
    const waiters: Array<() => void> = []
    const received = async (count: number): Promise<void> => {
      if (got.length < count) await new Promise<void>((resolve) => waiters.push(resolve))
    }
    reader.follow({ kind: 'device', id: 'device-1' }, (entry) => {
      got.push(entry.payload)
      waiters.shift()?.()
    })
    const before = await leases.register('device-1', { nodeId: 'node-a' })
    t.equal(before.acquired, true)
    await log.append({ kind: 'device', id: 'device-1' }, 'before', { wake: 'node-a' })
    await received(1)
    t.same(redis.health().state, 'ready')

    const down = reaches(redis, 'down')
    await server.stop()
    await down
    const health = redis.health()
    t.equal(health.state, 'down')
    t.ok(health.failedAttempts >= 2, 'attempts failed')
    t.equal(health.lastError?.code, 'ECONNREFUSED', 'the last error is kept, with its code')

    const err = await leases.register('device-2', { nodeId: 'node-a' }).catch((err: unknown) => err)
    t.ok(err instanceof RedisUnavailableError, 'a RedisUnavailableError')
    t.match(err, { code: 'AIP_ERR_REDIS_UNAVAILABLE', statusCode: 503, operation: 'lease.register', state: 'down' })
    await t.rejects(log.append({ kind: 'device', id: 'device-1' }, 'lost?'), { code: 'AIP_ERR_REDIS_UNAVAILABLE', operation: 'stream.append' })
    await t.rejects(records.get('s1'), { code: 'AIP_ERR_REDIS_UNAVAILABLE', operation: 'session.get' })
    await t.rejects(redis.probe(), { code: 'AIP_ERR_REDIS_UNAVAILABLE', operation: 'probe' })
    await t.rejects(redis.waitReady({ timeoutMs: 50 }), { code: 'AIP_ERR_REDIS_UNAVAILABLE', operation: 'waitReady' })

    const ready = reaches(redis, 'ready')
    await server.start()
    await ready
    t.equal(redis.health().failedAttempts, 0)
    t.ok(await redis.probe() >= 0, 'the probe answers')
    // The restarted server persisted nothing: the cluster state is gone, and the package starts over cleanly.
    const after = await leases.register('device-1', { nodeId: 'node-a' })
    t.equal(after.acquired, true, 'registration works again')
    await records.put('s1', 'back')
    t.equal(await records.get('s1'), 'back')
    await log.append({ kind: 'device', id: 'device-1' }, 'after', { wake: 'node-a' })
    await received(2)
    t.same(got, ['before', 'after'], 'the reader recovered on its own and its doorbell works again')
  })

  t.test('a connection opened while Redis is down starts once Redis comes up', async (t) => {
    await server.stop()
    t.teardown(async () => await server.start())
    const { RedisConnection } = await import('../src/index.js')
    const redis = new RedisConnection({ url: server.url, maxReconnectDelayMs: 100 })
    t.teardown(async () => await redis.close())
    await t.rejects(redis.run('early', async (client) => await client.ping()), { code: 'AIP_ERR_REDIS_UNAVAILABLE', state: 'connecting' })
    const ready = reaches(redis, 'ready')
    await server.start()
    await ready
    t.equal(await redis.run('later', async (client) => await client.ping()), 'PONG')
  })
}
