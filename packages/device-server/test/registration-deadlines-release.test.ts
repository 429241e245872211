import { test } from 'tap'
import { Clock } from '@tapjs/clock'
import type { ClientConnection } from '../src/connection.js'
import { RegistrationDeadlines } from '../src/registration-deadlines.js'

/** A stand-in for a connection: the queue reads only `identity` and `closed`. */
const pending = (name: string): ClientConnection => ({ name, identity: null, closed: false }) as unknown as ClientConnection

test('a connection released before its deadline (it registered or closed) is neither kept nor expired', async (t) => {
  const clock = new Clock()
  clock.enter()
  t.teardown(() => { clock.exit() })
  const expired: string[] = []
  const deadlines = new RegistrationDeadlines(1000, (connection) => { expired.push((connection as unknown as { name: string }).name) })
  const tickets = ['a', 'b', 'c'].map((name) => deadlines.add(pending(name)))
  t.same(tickets, [0, 1, 2], 'tickets in arrival order')
  deadlines.release(tickets[1] as number)
  clock.advance(1000)
  t.same(expired, ['a', 'c'], 'the released connection is not expired')
  t.equal(deadlines.size, 0)
  // Tickets stay valid across the queue's reset: a later connection is released by its own ticket.
  const late = deadlines.add(pending('d'))
  t.equal(late, 3)
  deadlines.release(late)
  deadlines.release(0)
  clock.advance(1000)
  t.same(expired, ['a', 'c'], 'neither the released late connection nor a stale ticket does anything')
  deadlines.clear()
})
