import { test } from 'tap'
import { buildCommandResults } from '@aip/protocol'
import { ResultCache } from '../src/result-cache.js'

const results = (sessionId: string, responseId: string): ReturnType<typeof buildCommandResults> =>
  buildCommandResults({ clientId: 'dev1', sessionId, prevResponseId: responseId, results: [] })

test('the result cache is bounded by count: the oldest entry goes first', async (t) => {
  let now = 0
  const cache = new ResultCache({ maxEntries: 2, now: () => now })
  cache.setMaxAge(1000)
  cache.put('r1', results('s1', 'r1'))
  now = 1
  cache.put('r2', results('s1', 'r2'))
  cache.put('r3', results('s1', 'r3'))
  t.equal(cache.size, 2)
  t.equal(cache.get('r1'), undefined, 'evicted')
  t.equal(cache.get('r2')?.prev_response_id, 'r2')
  t.equal(cache.get('r3')?.prev_response_id, 'r3')
  cache.put('r2', results('s1', 'r2'))
  cache.put('r4', results('s1', 'r4'))
  t.equal(cache.get('r3'), undefined, 'storing again makes an entry the youngest')
  t.ok(cache.get('r2'))
})

test('the result cache is bounded by age: an entry older than maxAgeMs is gone', async (t) => {
  let now = 0
  const cache = new ResultCache({ maxEntries: 10, now: () => now })
  t.equal(cache.maxAgeMs, 0)
  cache.put('r0', results('s1', 'r0'))
  t.equal(cache.size, 0, 'nothing is kept while the age bound is 0 (no resume granted)')
  cache.setMaxAge(100)
  cache.put('r1', results('s1', 'r1'))
  now = 50
  cache.put('r2', results('s1', 'r2'))
  now = 99
  t.ok(cache.get('r1'), 'young enough')
  now = 100
  t.equal(cache.get('r1'), undefined, 'expired at maxAgeMs')
  t.ok(cache.get('r2'))
  now = 160
  t.equal(cache.get('r2'), undefined)
  t.equal(cache.size, 0)
  cache.put('r3', results('s1', 'r3'))
  cache.setMaxAge(0)
  t.equal(cache.size, 0, 'a grant without resume empties it')
  cache.setMaxAge(-5)
  t.equal(cache.maxAgeMs, 0)
})

test("the result cache drops a session's entries at its TASK_END, and everything on clear", async (t) => {
  const cache = new ResultCache({ maxEntries: 10, now: () => 0 })
  cache.setMaxAge(1000)
  cache.put('a1', results('a', 'a1'))
  cache.put('b1', results('b', 'b1'))
  cache.put('a2', results('a', 'a2'))
  cache.endSession('a')
  t.same([cache.get('a1'), cache.get('a2')], [undefined, undefined])
  t.ok(cache.get('b1'))
  cache.clear()
  t.equal(cache.size, 0)
})
