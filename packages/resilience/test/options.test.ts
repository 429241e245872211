import t from 'tap'
import { HeartbeatManager, ReconnectionPolicy, ReconnectionStrategy, silentLogger, TimeoutManager } from '../src/index.js'
import type { ReconnectionStrategyOptions } from '../src/index.js'

const send = (): void => {}

t.test('reconnection defaults match the reference, with jitter on', async (t) => {
  const { options } = new ReconnectionStrategy()
  t.match(options, {
    maxRetries: 5,
    initialBackoffMs: 1000,
    maxBackoffMs: 60_000,
    backoffMultiplier: 2,
    policy: ReconnectionPolicy.EXPONENTIAL_BACKOFF,
    jitter: true,
    random: Math.random,
    logger: silentLogger
  })
  t.ok(Object.isFrozen(options))
  t.equal(new ReconnectionStrategy().policy, 'exponential_backoff')
})

t.test('falsy but valid values are kept, not replaced by defaults', async (t) => {
  const { options } = new ReconnectionStrategy({ maxRetries: 0, initialBackoffMs: 0, maxBackoffMs: 0, jitter: false })
  t.match(options, { maxRetries: 0, initialBackoffMs: 0, maxBackoffMs: 0, jitter: false })
  t.equal(new ReconnectionStrategy({ maxRetries: Infinity }).options.maxRetries, Infinity, 'Infinity retries allowed')
})

t.test('bad reconnection options throw a coded error', async (t) => {
  const bad: Array<[string, unknown]> = [
    ['maxRetries', -1], ['maxRetries', 1.5], ['maxRetries', NaN], ['maxRetries', '5'],
    ['initialBackoffMs', -1], ['initialBackoffMs', NaN], ['initialBackoffMs', Infinity],
    ['maxBackoffMs', -5], ['maxBackoffMs', 2 ** 31],
    ['backoffMultiplier', 0.5], ['backoffMultiplier', NaN], ['backoffMultiplier', '2'],
    ['policy', 'exponential'], ['policy', 'fibonacci'],
    ['jitter', 'yes'], ['random', 0.5], ['logger', console.log], ['logger', { info () {} }]
  ]
  for (const [name, value] of bad) {
    t.throws(
      () => new ReconnectionStrategy({ [name]: value } as ReconnectionStrategyOptions),
      { code: 'AIP_ERR_INVALID_OPTION', option: name },
      `${name}: ${String(value)}`
    )
  }
  t.throws(() => new ReconnectionStrategy(null as unknown as ReconnectionStrategyOptions), { code: 'AIP_ERR_INVALID_OPTION' })
})

t.test('heartbeat options: send is required and an interval of 0 is rejected', async (t) => {
  const manager = new HeartbeatManager({ send })
  t.match(manager.options, { intervalMs: 30_000, maxMissedAcks: 3, send })
  t.ok(Object.isFrozen(manager.options))
  t.type(manager.options.now(), 'number')
  t.throws(() => new HeartbeatManager({} as never), { code: 'AIP_ERR_INVALID_OPTION', option: 'send' })
  t.throws(() => new HeartbeatManager(undefined as never), { code: 'AIP_ERR_INVALID_OPTION' })
  for (const intervalMs of [0, -1000, NaN, Infinity]) {
    t.throws(() => new HeartbeatManager({ send, intervalMs }), { code: 'AIP_ERR_INVALID_OPTION', option: 'intervalMs' }, `intervalMs ${intervalMs}`)
  }
  for (const maxMissedAcks of [0, 1.5, -1]) {
    t.throws(() => new HeartbeatManager({ send, maxMissedAcks }), { code: 'AIP_ERR_INVALID_OPTION' }, `maxMissedAcks ${maxMissedAcks}`)
  }
  t.throws(() => new HeartbeatManager({ send, now: 5 as never }), { code: 'AIP_ERR_INVALID_OPTION', option: 'now' })
})

t.test('timeout options: default 120000 ms, and 0 is rejected', async (t) => {
  const manager = new TimeoutManager()
  t.equal(manager.options.defaultTimeoutMs, 120_000)
  t.ok(Object.isFrozen(manager.options))
  t.equal(new TimeoutManager({ defaultTimeoutMs: 50 }).options.defaultTimeoutMs, 50)
  for (const defaultTimeoutMs of [0, -1, NaN]) {
    t.throws(() => new TimeoutManager({ defaultTimeoutMs }), { code: 'AIP_ERR_INVALID_OPTION' }, `defaultTimeoutMs ${defaultTimeoutMs}`)
  }
})
