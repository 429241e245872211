import t from 'tap'
import { RedisConnection } from '../src/index.js'
import { connect } from './helpers/common.js'
import { redisServerOrSkip } from './helpers/redis-server.js'

const server = await redisServerOrSkip(t)

if (server !== undefined) {
  t.test('options are checked once, with coded errors, and frozen with their defaults', async (t) => {
    for (const [options, name] of [
      [{ url: 'http://127.0.0.1' }, 'url'],
      [{ url: 42 }, 'url'],
      [{ keyPrefix: '' }, 'keyPrefix'],
      [{ keyPrefix: 'a b' }, 'keyPrefix'],
      [{ keyPrefix: '{tag}' }, 'keyPrefix'],
      [{ commandTimeoutMs: 0 }, 'commandTimeoutMs'],
      [{ connectTimeoutMs: 1.5 }, 'connectTimeoutMs'],
      [{ maxReconnectDelayMs: 10 }, 'maxReconnectDelayMs'],
      [{ downAfterFailures: 0 }, 'downAfterFailures']
    ] as const) {
      t.throws(() => new RedisConnection(options as never), { code: 'AIP_ERR_REDIS_INVALID_OPTION', message: new RegExp(name) }, name)
    }
    t.throws(() => new RedisConnection(null as never), { code: 'AIP_ERR_REDIS_INVALID_OPTION' })
    const redis = await connect(t, server, { keyPrefix: 'cluster-1' })
    t.equal(redis.keys.prefix, 'cluster-1:', 'a colon is appended')
    t.ok(Object.isFrozen(redis.options))
    t.match(redis.options, { commandTimeoutMs: 2000, connectTimeoutMs: 2000, maxReconnectDelayMs: 2000, downAfterFailures: 3 })
  })

  t.test('health reports ready with a probe round trip, then closed; a closed connection refuses work', async (t) => {
    const redis = new RedisConnection({ url: server.url })
    t.equal(redis.health().state, 'connecting')
    const states: string[] = []
    redis.onStateChange(({ state }) => states.push(state))
    await redis.waitReady()
    await redis.waitReady() // at once when ready
    t.match(redis.health(), { state: 'ready', failedAttempts: 0, lastError: null })
    t.ok(await redis.probe() >= 0)
    await redis.close()
    await redis.close() // idempotent
    t.same(states, ['ready', 'closed'])
    t.equal(redis.health().state, 'closed')
    await t.rejects(redis.probe(), { code: 'AIP_ERR_REDIS_CLOSED' })
    await t.rejects(redis.waitReady(), { code: 'AIP_ERR_REDIS_CLOSED' })
    t.throws(() => redis.subscribe('c', () => {}), { code: 'AIP_ERR_REDIS_CLOSED' })
  })

  t.test('waitReady honours its signal, and a close while waiting', async (t) => {
    const nowhere = new RedisConnection({ url: 'redis://127.0.0.1:1', maxReconnectDelayMs: 50 })
    t.teardown(async () => await nowhere.close())
    const controller = new AbortController()
    const waiting = nowhere.waitReady({ signal: controller.signal, timeoutMs: 60_000 })
    controller.abort(new Error('gave up'))
    await t.rejects(waiting, { message: 'gave up' })
    await t.rejects(nowhere.waitReady({ signal: AbortSignal.abort(new Error('already')) }), { message: 'already' })
    await t.rejects(nowhere.waitReady({ timeoutMs: 0 }), { code: 'AIP_ERR_REDIS_INVALID_ARGUMENT' })
    const closing = nowhere.waitReady({ timeoutMs: 60_000 })
    await nowhere.close()
    await t.rejects(closing, { code: 'AIP_ERR_REDIS_CLOSED' })
  })

  t.test('pub/sub: listeners get messages on their channel, and stop after unsubscribing', async (t) => {
    const redis = await connect(t, server)
    const channel = `${redis.keys.prefix}test`
    const subscribed = new Promise<void>((resolve) => { redis.subscribe(channel, () => {}, resolve) })
    const messages: string[] = []
    const second = new Promise<void>((resolve) => {
      redis.subscribe(channel, (message) => {
        messages.push(message)
        if (messages.length === 2) resolve()
      })
    })
    await subscribed
    await redis.run('test.publish', async (client) => await client.publish(channel, 'one'))
    await redis.run('test.publish', async (client) => await client.publish(channel, 'two'))
    await second
    t.same(messages, ['one', 'two'])
    const off = redis.subscribe(`${channel}-2`, () => t.fail('unsubscribed'))
    off()
    off()
  })
}
