import type { Logger } from '@aip/endpoint'
import { Clock } from '@tapjs/clock'
import { test } from 'tap'
import { AuthFailureLimiter } from '../src/auth-limiter.js'
import { resolveAuthFailureLimit } from '../src/options.js'

// The limiter alone: a fixed window of failures per address, a bounded map, a fake clock, one warning per window.

interface Warning { fields: object, msg: string | undefined }

const noop = (): void => {}
const silent: Logger = { debug: noop, info: noop, warn: noop, error: noop }

function limiter (options: { maxFailures: number, windowMs: number, maxTrackedAddresses?: number }): {
  limiter: AuthFailureLimiter, clock: Clock, warnings: Warning[]
} {
  const clock = new Clock()
  const warnings: Warning[] = []
  const log: Logger = { ...silent, warn: (fields, msg) => { warnings.push({ fields, msg }) } }
  const resolved = resolveAuthFailureLimit({ ...options, now: () => clock.now() })
  if (resolved === null) throw new Error('the limit is on')
  return { limiter: new AuthFailureLimiter(resolved, log), clock, warnings }
}

test('an address is refused once it failed maxFailures times, until its window ends', async (t) => {
  const { limiter: l, clock } = limiter({ maxFailures: 3, windowMs: 10_000 })
  for (let i = 0; i < 3; i++) {
    t.equal(l.retryAfter('10.0.0.1'), null, `attempt ${i + 1} may try`)
    l.fail('10.0.0.1')
  }
  t.equal(l.retryAfter('10.0.0.1'), 10, 'the next attempt waits the whole window, in seconds')
  clock.advance(2_500)
  t.equal(l.retryAfter('10.0.0.1'), 8, 'Retry-After counts down, rounded up')
  clock.advance(7_499)
  t.equal(l.retryAfter('10.0.0.1'), 1, 'never 0 while refused')
  clock.advance(1)
  t.equal(l.retryAfter('10.0.0.1'), null, 'the window ended: the address may try again')
  t.equal(l.trackedAddresses, 0, 'and its window is forgotten')
  l.fail('10.0.0.1')
  t.equal(l.retryAfter('10.0.0.1'), null, 'a new window starts from zero')
})

test('the window is fixed from the first failure: later failures do not stretch it', async (t) => {
  const { limiter: l, clock } = limiter({ maxFailures: 2, windowMs: 10_000 })
  l.fail('a')
  clock.advance(9_000)
  l.fail('a')
  t.equal(l.retryAfter('a'), 1, 'refused for what is left of the window')
  clock.advance(1_000)
  t.equal(l.retryAfter('a'), null)
})

test('other addresses are not affected by one that is refused', async (t) => {
  const { limiter: l } = limiter({ maxFailures: 1, windowMs: 60_000 })
  l.fail('192.0.2.1')
  t.equal(l.retryAfter('192.0.2.1'), 60)
  t.equal(l.retryAfter('192.0.2.2'), null)
  t.equal(l.retryAfter('2001:db8::1'), null)
})

test('one warning per address and window, with the address, the failures and the window', async (t) => {
  const { limiter: l, clock, warnings } = limiter({ maxFailures: 2, windowMs: 1_000 })
  l.fail('a')
  l.fail('a')
  for (let i = 0; i < 5; i++) l.retryAfter('a')
  t.equal(warnings.length, 1, 'five refusals, one line')
  t.match(warnings[0], { fields: { remoteAddress: 'a', failures: 2, windowMs: 1_000, retryAfterSeconds: 1 }, msg: /too many failed authentications/ })
  l.fail('b')
  l.fail('b')
  l.retryAfter('b')
  t.equal(warnings.length, 2, 'another address gets its own line')
  clock.advance(1_000)
  l.fail('a')
  l.fail('a')
  l.retryAfter('a')
  l.retryAfter('a')
  t.equal(warnings.length, 3, 'a new window of the same address gets a new line')
})

test('the map stays bounded under many addresses: expired windows go first, then the oldest', async (t) => {
  const { limiter: l, clock } = limiter({ maxFailures: 1, windowMs: 10_000, maxTrackedAddresses: 100 })
  for (let i = 0; i < 10_000; i++) l.fail(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`)
  t.equal(l.trackedAddresses, 100, 'ten thousand addresses, a hundred tracked')
  t.equal(l.retryAfter('10.0.39.15'), 10, 'the newest is still refused')
  t.equal(l.retryAfter('10.0.0.0'), null, 'the oldest was forgotten')

  clock.advance(10_000)
  l.fail('fresh')
  t.equal(l.trackedAddresses, 1, 'a new failure drops every expired window at once')
  t.equal(l.retryAfter('fresh'), 10)

  l.clear()
  t.equal(l.trackedAddresses, 0)
})

test('a clock that goes backwards ends the window rather than stretching it', async (t) => {
  let now = 1_000_000
  const resolved = resolveAuthFailureLimit({ maxFailures: 1, windowMs: 60_000, now: () => now })
  if (resolved === null) throw new Error('the limit is on')
  const l = new AuthFailureLimiter(resolved, silent)
  l.fail('a')
  t.equal(l.retryAfter('a'), 60)
  now -= 3_600_000
  t.equal(l.retryAfter('a'), null)
})
