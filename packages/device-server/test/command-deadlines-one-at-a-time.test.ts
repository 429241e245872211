import { test } from 'tap'
import { Clock } from '@tapjs/clock'
import { CommandDeadlines } from '../src/command-deadlines.js'
import { Session } from '../src/session.js'

function session (id: string): Session {
  return new Session({ id, taskName: id, request: 'r', requesterId: 'c', deviceId: 'd', startedAt: 0 })
}

test('CommandDeadlines: COMMANDs answered one at a time reuse the emptied queue; stale tickets release nothing', async (t) => {
  const clock = new Clock()
  clock.enter()
  t.teardown(() => { clock.exit() })
  const expired: string[] = []
  const deadlines = new CommandDeadlines(1_000, (s, responseId) => { expired.push(`${s.id}:${responseId}`) })
  const stale: number[] = []
  // One COMMAND at a time, as at light load: the queue empties after each and its slots are written again.
  for (let i = 0; i < 50; i++) {
    const ticket = deadlines.add(session(`s${i}`), `r${i}`)
    t.equal(deadlines.size, 1)
    deadlines.release(ticket)
    t.equal(deadlines.size, 0)
    stale.push(ticket)
  }
  t.equal(new Set(stale).size, stale.length, 'every ticket is new')
  const waiting = deadlines.add(session('w'), 'rw')
  // Tickets of COMMANDs answered before, in the same slot, do not release the one waiting there now.
  for (const ticket of stale) deadlines.release(ticket)
  t.equal(deadlines.size, 1, 'the waiting COMMAND is still there')
  clock.advance(1_000)
  t.same(expired, ['w:rw'], 'it expires with its own session and id')
  t.equal(deadlines.size, 0)
  deadlines.release(waiting)
  // Two waiting, the second released first: the first still expires, the second never.
  const first = deadlines.add(session('x'), 'rx')
  const second = deadlines.add(session('y'), 'ry')
  deadlines.release(second)
  t.equal(deadlines.size, 2)
  clock.advance(1_000)
  t.same(expired, ['w:rw', 'x:rx'])
  deadlines.release(first)
  deadlines.clear()
  t.notOk(deadlines.armed)
})
