import t from 'tap'
import { ReconnectionStrategy } from '../src/index.js'
import type { ReconnectableEndpoint } from '../src/index.js'
import { drive, useClock } from './helpers.js'

const failing: ReconnectableEndpoint = { reconnectDevice: async () => false }

t.test('maxDelayMs caps every wait of one reconnection, keeping capped waits spread over its upper half', async (t) => {
  const clock = useClock(t)
  let draws = 0
  const randoms = [0, 0.5, 0.999]
  const strategy = new ReconnectionStrategy({ maxRetries: 6, jitter: false, random: () => randoms[draws++ % randoms.length] as number })
  const delays: number[] = []
  strategy.on('attempt', ({ delayMs }) => { delays.push(delayMs) })
  t.equal(await drive(clock, strategy.attemptReconnection(failing, 'd1', { maxDelayMs: 2500 })), false)
  // Backoff without the cap: 1000, 2000, 4000, 8000, 16000, 30000 (the strategy's maxBackoffMs).
  t.same(delays.slice(0, 2), [1000, 2000], 'waits under the cap are the backoff itself')
  for (const delay of delays.slice(2)) t.ok(delay >= 1250 && delay <= 2500, `capped wait ${delay} is within [1250, 2500]`)
  t.same(delays.slice(2, 5), [1250, 1875, 2499], 'each capped wait is drawn again')
})

t.test('without maxDelayMs the strategy backoff is unchanged', async (t) => {
  const clock = useClock(t)
  const strategy = new ReconnectionStrategy({ maxRetries: 4, jitter: false })
  const delays: number[] = []
  strategy.on('attempt', ({ delayMs }) => { delays.push(delayMs) })
  await drive(clock, strategy.attemptReconnection(failing, 'd1'))
  t.same(delays, [1000, 2000, 4000, 8000])
})

t.test('a maxDelayMs that is not an integer >= 1 is refused with AIP_ERR_INVALID_ARGUMENT', async (t) => {
  const strategy = new ReconnectionStrategy({ maxRetries: 1 })
  for (const bad of [0, -1, 1.5, Number.NaN]) {
    await t.rejects(strategy.attemptReconnection(failing, 'd1', { maxDelayMs: bad }), { code: 'AIP_ERR_INVALID_ARGUMENT', argument: 'maxDelayMs' }, String(bad))
  }
})
