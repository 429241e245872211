import t from 'tap'
import { computeBackoffMs, ReconnectionPolicy, ReconnectionStrategy } from '../src/index.js'
import type { BackoffOptions } from '../src/index.js'
import { seededRandom } from './helpers.js'

const exact = (policy: ReconnectionPolicy, initialBackoffMs = 1000, maxBackoffMs = 60_000, backoffMultiplier = 2): BackoffOptions =>
  ({ policy, initialBackoffMs, maxBackoffMs, backoffMultiplier, jitter: false })

const sequence = (options: BackoffOptions, n: number, random?: () => number): number[] =>
  Array.from({ length: n }, (_, i) => computeBackoffMs(i + 1, options, random))

t.test('exponential backoff doubles from the initial delay and stops at the cap', async (t) => {
  t.same(sequence(exact('exponential_backoff'), 9), [1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000])
  // The reference's own test: 1 s, ×2, capped at 10 s.
  const ref = exact('exponential_backoff', 1000, 10_000, 2)
  t.equal(computeBackoffMs(1, ref), 1000)
  t.equal(computeBackoffMs(2, ref), 2000)
  t.equal(computeBackoffMs(3, ref), 4000)
  t.equal(computeBackoffMs(11, ref), 10_000, 'capped at maxBackoffMs')
})

t.test('exponential backoff honours the multiplier', async (t) => {
  t.same(sequence(exact('exponential_backoff', 100, 10_000, 3), 6), [100, 300, 900, 2700, 8100, 10_000])
  t.same(sequence(exact('exponential_backoff', 500, 10_000, 1), 3), [500, 500, 500], 'a multiplier of 1 is a constant delay')
})

t.test('linear backoff grows by the initial delay and stops at the cap', async (t) => {
  t.same(sequence(exact('linear_backoff', 2000, 10_000), 7), [2000, 4000, 6000, 8000, 10_000, 10_000, 10_000])
})

t.test('immediate and none have no delay', async (t) => {
  t.same(sequence(exact('immediate'), 3), [0, 0, 0])
  t.same(sequence(exact('none'), 3), [0, 0, 0])
})

t.test('the delay stays a finite number for huge attempt numbers', async (t) => {
  t.equal(computeBackoffMs(100_000, exact('exponential_backoff')), 60_000)
  t.equal(computeBackoffMs(100_000, exact('exponential_backoff', 0)), 0, 'zero initial delay stays zero (no NaN)')
  t.equal(computeBackoffMs(Number.MAX_SAFE_INTEGER, exact('linear_backoff')), 60_000)
})

t.test('full jitter keeps every delay in [0, cap) with a seeded random source', async (t) => {
  const options: BackoffOptions = { ...exact('exponential_backoff'), jitter: true }
  const random = seededRandom(42)
  for (let attempt = 1; attempt <= 12; attempt++) {
    const cap = computeBackoffMs(attempt, exact('exponential_backoff'))
    for (let i = 0; i < 200; i++) {
      const delay = computeBackoffMs(attempt, options, random)
      if (!(Number.isInteger(delay) && delay >= 0 && delay < cap)) {
        t.fail(`attempt ${attempt}: ${delay} outside [0, ${cap})`)
        return
      }
    }
  }
  t.equal(computeBackoffMs(1, options, () => 0), 0, 'lowest random gives 0')
  t.equal(computeBackoffMs(1, options, () => 0.999_999), 999, 'highest random stays below the cap')
  t.equal(computeBackoffMs(3, options, () => 0.5), 2000, 'half of 4000')
  t.equal(computeBackoffMs(20, options, () => 0.5), 30_000, 'half of the 60000 cap')
})

t.test('the sequence is a pure function of the attempt and the random source', async (t) => {
  const options: BackoffOptions = { ...exact('exponential_backoff'), jitter: true }
  t.same(sequence(options, 10, seededRandom(7)), sequence(options, 10, seededRandom(7)))
  t.notSame(sequence(options, 10, seededRandom(7)), sequence(options, 10, seededRandom(8)))
  let calls = 0
  computeBackoffMs(1, exact('exponential_backoff'), () => { calls++; return 0.5 })
  t.equal(calls, 0, 'without jitter the random source is not consulted')
})

t.test('a strategy computes the same delays through backoffMs()', async (t) => {
  const strategy = new ReconnectionStrategy({ jitter: false, policy: ReconnectionPolicy.LINEAR_BACKOFF, initialBackoffMs: 250 })
  t.same([1, 2, 3].map((n) => strategy.backoffMs(n)), [250, 500, 750])
  const jittered = new ReconnectionStrategy({ random: () => 0.25 })
  t.equal(jittered.backoffMs(3), 1000)
  for (const bad of [0, -1, 1.5, NaN]) {
    t.throws(() => strategy.backoffMs(bad), { code: 'AIP_ERR_INVALID_ARGUMENT' }, `attempt ${bad}`)
  }
})
