import t from 'tap'
import { ReconnectionStrategy } from '../src/index.js'
import type { ReconnectableEndpoint } from '../src/index.js'
import { drive, useClock } from './helpers.js'

const failing: ReconnectableEndpoint = { reconnectDevice: async () => false }

t.test('firstAttemptWithinMs: the first wait is drawn in [0, window] instead of the backoff, later waits are the backoff', async (t) => {
  const clock = useClock(t)
  const strategy = new ReconnectionStrategy({ maxRetries: 3, jitter: false, random: () => 0.25 })
  const delays: number[] = []
  strategy.on('attempt', ({ delayMs }) => { delays.push(delayMs) })
  t.equal(await drive(clock, strategy.attemptReconnection(failing, 'd1', { firstAttemptWithinMs: 8000 })), false)
  t.same(delays, [2000, 2000, 4000], 'a quarter of the window (not the 1000 of the backoff), then the backoff of attempts 2 and 3')
})

t.test('the window is spread: each draw of the random source gives another first wait', async (t) => {
  const clock = useClock(t)
  const randoms = [0, 0.5, 0.999]
  let draws = 0
  const strategy = new ReconnectionStrategy({ maxRetries: 1, jitter: false, random: () => randoms[draws++] as number })
  const firsts: number[] = []
  strategy.on('attempt', ({ delayMs }) => { firsts.push(delayMs) })
  for (let i = 0; i < randoms.length; i++) await drive(clock, strategy.attemptReconnection(failing, `d${i}`, { firstAttemptWithinMs: 1000 }))
  t.same(firsts, [0, 500, 999])
})

t.test('the window is used once: a reset of the count (a server going away on purpose) backs off again', async (t) => {
  const clock = useClock(t)
  const strategy = new ReconnectionStrategy({ maxRetries: 3, jitter: false, random: () => 0.5 })
  const delays: number[] = []
  strategy.on('attempt', ({ delayMs }) => { delays.push(delayMs) })
  let calls = 0
  const endpoint: ReconnectableEndpoint = {
    reconnectDevice: async () => {
      if (++calls === 1) strategy.reset('d1')
      return false
    }
  }
  await drive(clock, strategy.attemptReconnection(endpoint, 'd1', { firstAttemptWithinMs: 6000 }))
  t.same(delays, [3000, 2000, 4000], 'half the window once; after the reset the waits are the backoff, the window is not drawn again')
})

t.test('maxDelayMs caps the window too', async (t) => {
  const clock = useClock(t)
  const strategy = new ReconnectionStrategy({ maxRetries: 1, jitter: false, random: () => 0.5 })
  const delays: number[] = []
  strategy.on('attempt', ({ delayMs }) => { delays.push(delayMs) })
  await drive(clock, strategy.attemptReconnection(failing, 'd1', { firstAttemptWithinMs: 60_000, maxDelayMs: 4000 }))
  t.same(delays, [2000])
})

t.test('a firstAttemptWithinMs that is not an integer from 0 to the timer limit is refused with AIP_ERR_INVALID_ARGUMENT', async (t) => {
  const strategy = new ReconnectionStrategy({ maxRetries: 1 })
  for (const bad of [-1, 1.5, Number.NaN, 2 ** 31]) {
    await t.rejects(strategy.attemptReconnection(failing, 'd1', { firstAttemptWithinMs: bad }), { code: 'AIP_ERR_INVALID_ARGUMENT', argument: 'firstAttemptWithinMs' }, String(bad))
  }
})
