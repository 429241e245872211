import t from 'tap'
import { AbortedError, ReconnectionStrategy } from '../src/index.js'
import type { ReconnectableEndpoint } from '../src/index.js'
import { drive, pendingTimers, tick, useClock } from './helpers.js'

function failingEndpoint () {
  const signals: Array<AbortSignal | undefined> = []
  const endpoint: ReconnectableEndpoint = {
    async reconnectDevice (_deviceId, options) {
      signals.push(options?.signal)
      return false
    }
  }
  return { endpoint, signals }
}

t.test('aborting during a backoff sleep rejects at once and clears the timer', async (t) => {
  const clock = useClock(t)
  const strategy = new ReconnectionStrategy({ maxRetries: Infinity, jitter: false })
  const { endpoint, signals } = failingEndpoint()
  const controller = new AbortController()
  const done = strategy.attemptReconnection(endpoint, 'd1', { signal: controller.signal })
  await tick()
  clock.advance(1000) // attempt 1 fails, attempt 2 sleeps 2000 ms
  await tick()
  t.equal(signals.length, 1)
  t.equal(pendingTimers(clock).length, 1, 'sleeping')
  clock.advance(500)
  const reason = new Error('user stopped')
  controller.abort(reason)
  const err = await t.rejects(done, { code: 'AIP_ERR_ABORTED', message: 'reconnection of d1 was aborted' })
  t.ok(err instanceof AbortedError)
  t.equal((err as Error).cause, reason, 'the signal reason is the cause')
  t.equal(pendingTimers(clock).length, 0, 'the backoff timer is cleared')
  t.equal(signals.length, 1, 'no further attempt')
  t.equal(strategy.activeCount, 0)
})

t.test('an already aborted signal rejects without any attempt', async (t) => {
  const strategy = new ReconnectionStrategy()
  const { endpoint, signals } = failingEndpoint()
  await t.rejects(strategy.attemptReconnection(endpoint, 'd1', { signal: AbortSignal.abort('gone') }), {
    code: 'AIP_ERR_ABORTED', cause: 'gone'
  })
  t.equal(signals.length, 0)
  t.equal(strategy.activeCount, 0)
})

t.test('the signal given to reconnectDevice aborts when the caller aborts mid-attempt', async (t) => {
  const clock = useClock(t)
  const strategy = new ReconnectionStrategy({ jitter: false })
  const controller = new AbortController()
  let seen: AbortSignal | undefined
  const endpoint: ReconnectableEndpoint = {
    reconnectDevice: (_id, options) => new Promise<boolean>((resolve) => {
      seen = options?.signal
      seen?.addEventListener('abort', () => resolve(false))
    })
  }
  const done = strategy.attemptReconnection(endpoint, 'd1', { signal: controller.signal })
  await tick()
  clock.advance(1000)
  await tick()
  t.equal(seen?.aborted, false)
  controller.abort()
  await t.rejects(done, { code: 'AIP_ERR_ABORTED' })
  t.equal(seen?.aborted, true)
  t.equal(pendingTimers(clock).length, 0)
})

t.test('a success that lands after the abort still counts as reconnected', async (t) => {
  const clock = useClock(t)
  const strategy = new ReconnectionStrategy({ jitter: false })
  const controller = new AbortController()
  const endpoint: ReconnectableEndpoint = {
    reconnectDevice: async () => { controller.abort(); return true }
  }
  t.equal(await drive(clock, strategy.attemptReconnection(endpoint, 'd1', { signal: controller.signal })), true)
})

t.test('dispose() abandons every reconnection in flight and leaves no timer', async (t) => {
  const clock = useClock(t)
  const strategy = new ReconnectionStrategy({ maxRetries: Infinity })
  const { endpoint } = failingEndpoint()
  const runs = ['a', 'b', 'c'].map((id) => strategy.attemptReconnection(endpoint, id))
  await tick()
  t.equal(pendingTimers(clock).length, 3)
  let events = 0
  strategy.on('attempt', () => { events++ })
  strategy.dispose()
  for (const run of runs) await t.rejects(run, { code: 'AIP_ERR_ABORTED', cause: { code: 'AIP_ERR_ABORTED' } })
  t.equal(strategy.activeCount, 0)
  t.equal(pendingTimers(clock).length, 0)
  clock.advance(120_000)
  await tick()
  t.equal(events, 0, 'listeners removed')
})
