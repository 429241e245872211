import t from 'tap'
import { ReconnectionPolicy, ReconnectionStrategy } from '../src/index.js'
import type { ReconnectableEndpoint, ReconnectionEvents } from '../src/index.js'
import { drive, pendingTimers, recordingLogger, tick, useClock } from './helpers.js'

/** An endpoint whose `reconnectDevice` answers from a per-device script (true, false or an Error to throw). */
function scriptedEndpoint (script: Record<string, Array<boolean | Error>> = {}) {
  const calls: Array<{ deviceId: string, at: number }> = []
  const endpoint: ReconnectableEndpoint = {
    async reconnectDevice (deviceId) {
      calls.push({ deviceId, at: performance.now() })
      const next = script[deviceId]?.shift() ?? false
      if (next instanceof Error) throw next
      return next
    }
  }
  return { endpoint, calls }
}

function record<K extends keyof ReconnectionEvents> (strategy: ReconnectionStrategy, event: K): Array<ReconnectionEvents[K]> {
  const seen: Array<ReconnectionEvents[K]> = []
  strategy.on(event, (payload) => { seen.push(payload) })
  return seen
}

t.test('gives up after maxRetries attempts, waiting the exact backoff before each', async (t) => {
  const clock = useClock(t)
  const start = clock.now()
  const strategy = new ReconnectionStrategy({ maxRetries: 4, jitter: false })
  const { endpoint, calls } = scriptedEndpoint()
  const attempts = record(strategy, 'attempt')
  const failed = record(strategy, 'failed')
  const exhausted = record(strategy, 'exhausted')

  t.equal(await drive(clock, strategy.attemptReconnection(endpoint, 'd1')), false)
  t.same(attempts.map((a) => a.delayMs), [1000, 2000, 4000, 8000])
  t.same(attempts.map((a) => a.attempt), [1, 2, 3, 4])
  t.same(calls.map((c) => c.at - start), [1000, 3000, 7000, 15_000], 'each attempt happens after its delay')
  t.same(failed.map((f) => f.attempt), [1, 2, 3, 4])
  t.same(exhausted, [{ deviceId: 'd1', attempts: 4 }])
  t.equal(strategy.activeCount, 0)
  t.equal(pendingTimers(clock).length, 0, 'no timer left')
})

t.test('resolves true as soon as an attempt succeeds, and forgets the count', async (t) => {
  const clock = useClock(t)
  const strategy = new ReconnectionStrategy({ maxRetries: 5, jitter: false, policy: ReconnectionPolicy.LINEAR_BACKOFF })
  const { endpoint, calls } = scriptedEndpoint({ d1: [false, false, true] })
  const reconnected = record(strategy, 'reconnected')
  const attempts = record(strategy, 'attempt')

  const done = strategy.attemptReconnection(endpoint, 'd1')
  await tick()
  t.ok(strategy.isReconnecting('d1'))
  t.equal(await drive(clock, done), true)
  t.same(attempts.map((a) => a.delayMs), [1000, 2000, 3000])
  t.equal(calls.length, 3)
  t.same(reconnected, [{ deviceId: 'd1', attempt: 3 }])
  t.equal(strategy.retryCount('d1'), 0)
  t.notOk(strategy.isReconnecting('d1'))
  t.equal(pendingTimers(clock).length, 0)
})

t.test('errors thrown by reconnectDevice count as failed attempts and are logged', async (t) => {
  const clock = useClock(t)
  const logger = recordingLogger()
  const strategy = new ReconnectionStrategy({ maxRetries: 3, jitter: false, logger })
  const boom = new Error('ECONNREFUSED')
  const { endpoint } = scriptedEndpoint({ d1: [boom, true] })
  const failed = record(strategy, 'failed')

  t.equal(await drive(clock, strategy.attemptReconnection(endpoint, 'd1')), true)
  t.same(failed, [{ deviceId: 'd1', attempt: 1, error: boom }])
  t.match(logger.records.find((r) => r.msg === 'reconnection attempt failed'), {
    level: 'warn', obj: { deviceId: 'd1', attempt: 1, delayMs: 1000, err: boom }
  })
})

t.test('attempts are counted per device, not shared across devices', async (t) => {
  const clock = useClock(t)
  const strategy = new ReconnectionStrategy({ maxRetries: 3, jitter: false })
  const { endpoint } = scriptedEndpoint({ a: [false, false, false], b: [false, true] })
  const attempts = record(strategy, 'attempt')

  const a = strategy.attemptReconnection(endpoint, 'a')
  const b = strategy.attemptReconnection(endpoint, 'b')
  t.equal(strategy.activeCount, 2)
  await tick()
  clock.advance(1000)
  await tick()
  t.equal(strategy.retryCount('a'), 1)
  t.equal(strategy.retryCount('b'), 1)
  const results = await drive(clock, Promise.all([a, b]))
  t.same(results, [false, true])
  t.same(attempts.filter((e) => e.deviceId === 'a').map((e) => e.delayMs), [1000, 2000, 4000])
  t.same(attempts.filter((e) => e.deviceId === 'b').map((e) => e.delayMs), [1000, 2000], 'b keeps its own sequence')
  t.equal(strategy.retryCount('a'), 0, 'nothing kept once finished')
})

t.test('a second call for a device already reconnecting joins the first', async (t) => {
  const clock = useClock(t)
  const strategy = new ReconnectionStrategy({ jitter: false })
  const { endpoint, calls } = scriptedEndpoint({ d1: [true] })
  const first = strategy.attemptReconnection(endpoint, 'd1')
  const second = strategy.attemptReconnection(endpoint, 'd1')
  t.equal(second, first)
  t.equal(await drive(clock, first), true)
  t.equal(calls.length, 1)
})

t.test('reset() restarts the sequence and the budget of a reconnection in flight', async (t) => {
  const clock = useClock(t)
  const strategy = new ReconnectionStrategy({ maxRetries: 3, jitter: false })
  const { endpoint } = scriptedEndpoint({ d1: [false, false, false, true] })
  const attempts = record(strategy, 'attempt')
  const done = strategy.attemptReconnection(endpoint, 'd1')
  await tick()
  clock.advance(1000)
  await tick()
  clock.advance(2000)
  await tick()
  t.equal(strategy.retryCount('d1'), 2)
  strategy.reset('other')
  t.equal(strategy.retryCount('d1'), 2, 'another device is not touched')
  strategy.reset()
  t.equal(strategy.retryCount('d1'), 0)
  strategy.reset('nobody')
  t.equal(await drive(clock, done), true, 'the budget is whole again: a 4th call happens')
  t.same(attempts.map((a) => a.delayMs), [1000, 2000, 4000, 2000])
})

t.test('policy NONE and maxRetries 0 give up at once without calling the endpoint', async (t) => {
  const { endpoint, calls } = scriptedEndpoint({ d1: [true] })
  t.equal(await new ReconnectionStrategy({ policy: ReconnectionPolicy.NONE }).attemptReconnection(endpoint, 'd1'), false)
  t.equal(await new ReconnectionStrategy({ maxRetries: 0 }).attemptReconnection(endpoint, 'd1'), false)
  t.equal(calls.length, 0)
})

t.test('immediate policy retries without waiting longer than one timer turn', async (t) => {
  const clock = useClock(t)
  const start = clock.now()
  const strategy = new ReconnectionStrategy({ policy: ReconnectionPolicy.IMMEDIATE })
  const { endpoint, calls } = scriptedEndpoint({ d1: [false, false, true] })
  t.equal(await drive(clock, strategy.attemptReconnection(endpoint, 'd1')), true)
  t.ok(calls.every((c) => c.at - start <= 3), 'all three attempts within 3 ms')
})

t.test('maxRetries: Infinity keeps trying, with delays capped at maxBackoffMs', async (t) => {
  const clock = useClock(t)
  const strategy = new ReconnectionStrategy({ maxRetries: Infinity, jitter: false, maxBackoffMs: 8000 })
  const script = Array.from({ length: 49 }, () => false).concat(true)
  const { endpoint, calls } = scriptedEndpoint({ d1: script })
  const attempts = record(strategy, 'attempt')
  t.equal(await drive(clock, strategy.attemptReconnection(endpoint, 'd1')), true)
  t.equal(calls.length, 50)
  t.same(attempts.slice(0, 5).map((a) => a.delayMs), [1000, 2000, 4000, 8000, 8000])
  t.ok(attempts.every((a) => a.delayMs <= 8000))
})

t.test('a backoff timer keeps the process alive, and dispose() clears it', async (t) => {
  const clock = useClock(t)
  const strategy = new ReconnectionStrategy()
  const { endpoint } = scriptedEndpoint()
  const done = strategy.attemptReconnection(endpoint, 'd1')
  await tick()
  const timers = pendingTimers(clock)
  t.equal(timers.length, 1)
  t.equal(timers[0]?.reffed, true, 'a program whose only job is to reconnect does not exit while it waits')
  strategy.dispose()
  await t.rejects(done, { code: 'AIP_ERR_ABORTED' })
  t.equal(pendingTimers(clock).length, 0)
})

t.test('a per-call maxRetries overrides the strategy budget for that reconnection only', async (t) => {
  const clock = useClock(t)
  const strategy = new ReconnectionStrategy({ maxRetries: 2, jitter: false })
  const { endpoint, calls } = scriptedEndpoint({ d2: Array.from({ length: 9 }, () => false).concat(true) })
  t.equal(await drive(clock, strategy.attemptReconnection(endpoint, 'd1', { maxRetries: 4 })), false)
  t.equal(calls.filter((c) => c.deviceId === 'd1').length, 4)
  t.equal(await drive(clock, strategy.attemptReconnection(endpoint, 'd2', { maxRetries: Infinity })), true)
  t.equal(calls.filter((c) => c.deviceId === 'd2').length, 10, 'Infinity goes past the strategy budget')
  t.equal(await drive(clock, strategy.attemptReconnection(endpoint, 'd3')), false)
  t.equal(calls.filter((c) => c.deviceId === 'd3').length, 2, 'without one, the strategy budget holds')
  for (const bad of [-1, 1.5, Number.NaN]) {
    await t.rejects(strategy.attemptReconnection(endpoint, 'd4', { maxRetries: bad }), { code: 'AIP_ERR_INVALID_ARGUMENT' })
  }
})

t.test('a throwing listener is logged and does not break the loop; on() returns an unsubscribe', async (t) => {
  const clock = useClock(t)
  const logger = recordingLogger()
  const strategy = new ReconnectionStrategy({ jitter: false, logger })
  const { endpoint } = scriptedEndpoint({ d1: [false, true] })
  const seen: number[] = []
  const off = strategy.on('attempt', ({ attempt }) => { seen.push(attempt) })
  strategy.on('attempt', () => { throw new Error('listener bug') })
  strategy.on('failed', () => { off(); off() })
  t.equal(await drive(clock, strategy.attemptReconnection(endpoint, 'd1')), true)
  t.same(seen, [1], 'unsubscribed after the first failure')
  t.match(logger.records.filter((r) => r.msg === 'reconnection event listener threw'), [
    { level: 'error', obj: { event: 'attempt', err: { message: 'listener bug' } } },
    { level: 'error', obj: { event: 'attempt' } }
  ])
})
