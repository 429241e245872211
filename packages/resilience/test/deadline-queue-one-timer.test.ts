import t from 'tap'
import { DeadlineQueue } from '../src/index.js'
import { pendingTimers, useClock } from './helpers.js'

t.test('one timer serves the deadlines of every item, each expiring in turn', async (t) => {
  const clock = useClock(t)
  const expired: string[] = []
  const deadlines = new DeadlineQueue<string>(1000, (item) => { expired.push(item) })
  deadlines.add('a')
  clock.advance(400)
  deadlines.add('b')
  deadlines.add('c')
  t.equal(pendingTimers(clock).length, 1, 'three items, one timer')
  t.equal(deadlines.armed, true)
  clock.advance(599)
  t.same(expired, [], 'nothing is due before its deadline')
  clock.advance(1)
  t.same(expired, ['a'], 'the oldest expires at its deadline')
  t.equal(pendingTimers(clock).length, 1, 'the timer is armed again for the next one')
  clock.advance(400)
  t.same(expired, ['a', 'b', 'c'], 'the next ones at theirs')
  t.equal(pendingTimers(clock).length, 0, 'no timer once none waits')
  t.equal(deadlines.armed, false)
  t.equal(deadlines.size, 0)
})

t.test('items added while the timer\'s turn runs are served by one timer', async (t) => {
  const clock = useClock(t)
  const expired: string[] = []
  const deadlines = new DeadlineQueue<string>(100, (item) => {
    expired.push(item)
    if (item.length < 3) deadlines.add(`${item}+`)
  })
  deadlines.add('a')
  deadlines.add('b')
  clock.advance(100)
  t.same(expired, ['a', 'b'])
  t.equal(pendingTimers(clock).length, 1, 'one timer for the items added by expire')
  clock.advance(100)
  t.same(expired, ['a', 'b', 'a+', 'b+'])
  clock.advance(100)
  t.same(expired, ['a', 'b', 'a+', 'b+', 'a++', 'b++'])
  t.equal(pendingTimers(clock).length, 0)
})

t.test('an expire that clears the queue stops the turn; what it adds after is served later', async (t) => {
  const clock = useClock(t)
  const expired: string[] = []
  const deadlines = new DeadlineQueue<string>(100, (item) => {
    expired.push(item)
    if (item === 'a') {
      deadlines.clear()
      deadlines.add('late')
    }
  })
  deadlines.add('a')
  deadlines.add('b')
  clock.advance(100)
  t.same(expired, ['a'], 'b was cleared with the queue')
  t.equal(pendingTimers(clock).length, 1)
  clock.advance(100)
  t.same(expired, ['a', 'late'])
  t.equal(pendingTimers(clock).length, 0)
})

t.test('the queue of a long stream of items is compacted; deadlines stay right across it', async (t) => {
  const clock = useClock(t)
  let expired = 0
  const deadlines = new DeadlineQueue<number>(100, () => { expired++ })
  // 3000 items, one per millisecond, every other one released at once.
  const tickets: number[] = []
  for (let i = 0; i < 3000; i++) {
    const ticket = deadlines.add(i)
    if (i % 2 === 0) deadlines.release(ticket)
    else tickets.push(ticket)
    clock.advance(1)
  }
  t.ok(deadlines.size < 3000, 'served entries were dropped')
  t.equal(deadlines.release(tickets[0] as number), false, 'an expired item is not waiting any more')
  t.equal(deadlines.release(tickets[tickets.length - 1] as number), true, 'a ticket still finds its item after compaction')
  clock.advance(100)
  t.equal(expired, 1499, 'every item not released expired, once')
  t.equal(deadlines.size, 0)
  t.equal(pendingTimers(clock).length, 0)
})
