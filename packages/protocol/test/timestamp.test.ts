import { test } from 'tap'
import { epochMicros, formatTimestamp, timestamp } from '../src/index.js'

test('timestamps have the reference form: six fraction digits and +00:00', async (t) => {
  t.equal(formatTimestamp(Date.UTC(2026, 10, 23, 23, 12, 9) * 1000 + 896_517), '2026-11-23T23:12:09.896517+00:00')
  t.equal(formatTimestamp(Date.UTC(2026, 0, 2, 3, 4, 5) * 1000 + 7), '2026-01-02T03:04:05.000007+00:00')
})

test('a zero fraction is left out, as Python isoformat() does', async (t) => {
  t.equal(formatTimestamp(Date.UTC(2026, 10, 23, 23, 12, 9) * 1000), '2026-11-23T23:12:09+00:00')
})

test('times before 1970 keep a positive fraction', async (t) => {
  t.equal(formatTimestamp(-1), '1969-12-31T23:59:59.999999+00:00')
})

test('timestamp() is now, with microseconds', async (t) => {
  const before = Date.now()
  const value = timestamp()
  t.match(value, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?\+00:00$/)
  const parsed = Date.parse(value.replace('+00:00', 'Z'))
  t.ok(Math.abs(parsed - before) < 60_000, 'close to the wall clock')
  t.ok(Number.isInteger(epochMicros()))
})
