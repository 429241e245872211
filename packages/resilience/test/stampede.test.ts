import t from 'tap'
import type { Test } from 'tap'
import { ReconnectionStrategy } from '../src/index.js'
import type { ReconnectableEndpoint } from '../src/index.js'
import { drive, pendingTimers, seededRandom, useClock } from './helpers.js'

const CLIENTS = 10_000
const WINDOW_MS = 100

/** The largest number of values falling in any half-open window [x, x + width). */
function busiestWindow (values: number[], width: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  let best = 0
  let lo = 0
  for (let hi = 0; hi < sorted.length; hi++) {
    while ((sorted[hi] as number) - (sorted[lo] as number) >= width) lo++
    best = Math.max(best, hi - lo + 1)
  }
  return best
}

/** Restarts the server under 10,000 clients and returns when each one's first reconnection attempt hit it. */
async function firstReconnections (t: Test, jitter: boolean): Promise<number[]> {
  const clock = useClock(t)
  const restartAt = clock.now()
  const hits: number[] = []
  const server: ReconnectableEndpoint = {
    async reconnectDevice () {
      hits.push(performance.now() - restartAt)
      return true
    }
  }
  const strategy = new ReconnectionStrategy({ jitter, random: seededRandom(2024) })
  const all = Promise.all(Array.from({ length: CLIENTS }, (_, i) => strategy.attemptReconnection(server, `device-${i}`)))
  const results = await drive(clock, all, 5000)
  t.ok(results.every(Boolean), 'every client reconnected')
  t.equal(strategy.activeCount, 0)
  t.equal(pendingTimers(clock).length, 0)
  return hits
}

t.test('with jitter, no 100 ms window holds more than 15 % of 10,000 first reconnections', async (t) => {
  const hits = await firstReconnections(t, true)
  t.equal(hits.length, CLIENTS)
  const busiest = busiestWindow(hits, WINDOW_MS)
  t.ok(busiest <= CLIENTS * 0.15, `busiest ${WINDOW_MS} ms window holds ${busiest} (${(busiest / CLIENTS * 100).toFixed(1)} %)`)
  t.ok(Math.max(...hits) < 1000, 'all within the first (capped) delay')
})

t.test('without jitter, all 10,000 hit the server in the same instant', async (t) => {
  const hits = await firstReconnections(t, false)
  t.equal(busiestWindow(hits, WINDOW_MS), CLIENTS)
  t.same(new Set(hits), new Set([1000]))
})
