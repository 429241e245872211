import t from 'tap'
import { DeadlineQueue, type DeadlineClock } from '../src/index.js'
import { pendingTimers, useClock } from './helpers.js'

t.test('an item released before its deadline is neither kept nor expired', async (t) => {
  const clock = useClock(t)
  const expired: string[] = []
  const deadlines = new DeadlineQueue<string>(1000, (item) => { expired.push(item) })
  const tickets = ['a', 'b', 'c'].map((item) => deadlines.add(item))
  t.same(tickets, [0, 1, 2], 'tickets in arrival order')
  t.equal(deadlines.release(tickets[1] as number), true, 'released while waiting')
  t.equal(deadlines.release(tickets[1] as number), false, 'a second release finds nothing')
  t.equal(deadlines.release(-1), false, 'no ticket: nothing to release')
  t.equal(deadlines.release(99), false, 'a ticket never handed out')
  clock.advance(1000)
  t.same(expired, ['a', 'c'], 'the released item is not expired')
  t.equal(deadlines.release(tickets[0] as number), false, 'an expired item is not waiting any more')
  t.equal(deadlines.size, 0)
  // Tickets stay valid across the queue's reset: a later item is released by its own ticket, a stale one does nothing.
  const late = deadlines.add('d')
  t.equal(late, 3)
  t.equal(deadlines.release(0), false)
  t.equal(deadlines.release(late), true)
  clock.advance(1000)
  t.same(expired, ['a', 'c'])
})

t.test('when every waiting item was released, the timer stops at its next turn instead of running on', async (t) => {
  const clock = useClock(t)
  const expired: string[] = []
  const deadlines = new DeadlineQueue<number>(1000, (item) => { expired.push(String(item)) })
  const tickets: number[] = []
  for (let i = 0; i < 5; i++) {
    tickets.push(deadlines.add(i))
    clock.advance(10)
  }
  for (const ticket of tickets) deadlines.release(ticket)
  clock.advance(1000)
  t.same(expired, [])
  t.equal(pendingTimers(clock).length, 0, 'no timer is armed for released deadlines')
  t.equal(deadlines.armed, false)
})

t.test('clear drops every deadline and the timer; tickets from before are released', async (t) => {
  const clock = useClock(t)
  const expired: string[] = []
  const deadlines = new DeadlineQueue<string>(1000, (item) => { expired.push(item) })
  const a = deadlines.add('a')
  deadlines.clear()
  t.equal(pendingTimers(clock).length, 0)
  t.equal(deadlines.release(a), false, 'a cleared item is not waiting')
  deadlines.add('b')
  clock.advance(1000)
  t.same(expired, ['b'])
})

t.test('a clock of its own: the queue reads the time and arms its timer only through it', async (t) => {
  let now = 0
  const armed: Array<{ fn: () => void, ms: number, cleared: boolean }> = []
  const clock: DeadlineClock = {
    now: () => now,
    schedule: (fn, ms) => {
      const timer = { fn, ms, cleared: false }
      armed.push(timer)
      return () => { timer.cleared = true }
    }
  }
  const expired: string[] = []
  const deadlines = new DeadlineQueue<string>(500, (item) => { expired.push(item) }, clock)
  deadlines.add('a')
  now = 200
  deadlines.add('b')
  t.same(armed.map((timer) => timer.ms), [500], 'one timer, for the oldest')
  now = 500
  armed[0]?.fn()
  t.same(expired, ['a'])
  t.same(armed.map((timer) => timer.ms), [500, 200], 'armed again for the next one, at its remaining wait')
  deadlines.clear()
  t.equal(armed[1]?.cleared, true, 'clear clears the timer')
})
