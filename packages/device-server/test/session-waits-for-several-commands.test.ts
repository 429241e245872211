import { test } from 'tap'
import type { OutstandingCommand } from '../src/session.js'
import { Session } from '../src/session.js'

// A session keeps its first waiting COMMAND in a slot of its own and the others in a map beside it: every wait
// is settled by its own results, in any order, and the waiting COMMANDs are listed in the order they were issued.

function session (): Session {
  return new Session({ id: 's1', taskName: 't', request: 'r', requesterId: 'c', deviceId: 'd', startedAt: 0 })
}

function outgoing (name: string): OutstandingCommand {
  return { command: { type: 'command', session_id: name } as unknown as OutstandingCommand['command'], extra: null, dueAt: 0, sent: false }
}

const ok = (callId: string): Array<{ status: 'success', call_id: string }> => [{ status: 'success', call_id: callId }]

test('three commands waiting at once each get their own results, answered in reverse order', async (t) => {
  const s = session()
  const waits = ['r1', 'r2', 'r3'].map((id) => s.expect(id))
  t.equal(s.deliver('r3', ok('c3')), true)
  t.equal(s.deliver('r1', ok('c1')), true)
  t.equal(s.deliver('r2', ok('c2')), true)
  t.same(await Promise.all(waits), [ok('c1'), ok('c2'), ok('c3')])
  t.equal(s.deliver('r1', ok('again')), false, 'results for a settled command are dropped')
})

test('the waiting commands are listed in the order they were issued, whichever settled in between', async (t) => {
  const s = session()
  const a = s.expect('a')
  s.keep('a', outgoing('A'))
  const b = s.expect('b')
  s.keep('b', outgoing('B'))
  s.deliver('a', [])
  await a
  const c = s.expect('c')
  s.keep('c', outgoing('C'))
  t.same([...s.outstanding()].map((o) => o.command.session_id), ['B', 'C'], 'a command issued after the slot emptied comes after the earlier ones')
  s.forget('b')
  s.forget('c')
  const d = s.expect('d')
  s.keep('d', outgoing('D'))
  t.same([...s.outstanding()].map((o) => o.command.session_id), ['D'])
  s.deliver('d', [])
  await d
  t.same([...s.outstanding()], [])
  // Forgotten waits are never settled: nothing rejects them.
  t.equal(await Promise.race([b, c, Promise.resolve('pending')]), 'pending')
})

test('a timeout fails only its own command; a cancel rejects every command still waiting', async (t) => {
  const s = session()
  const first = s.expect('r1')
  const second = s.expect('r2')
  const third = s.expect('r3')
  t.equal(s.fail('r2', new Error('timed out')), true)
  await t.rejects(second, { message: 'timed out' })
  t.equal(s.fail('r2', new Error('again')), false, 'nothing waits for it any more')
  s.cancel(new Error('cancelled'))
  await t.rejects(first, { message: 'cancelled' })
  await t.rejects(third, { message: 'cancelled' })
  t.equal(s.aborted, true)
  t.equal(s.deliver('r1', []), false)
  t.same([...s.outstanding()], [])
})

test('a command not kept yet is not listed, and keep for an unknown id does nothing', async (t) => {
  const s = session()
  const wait = s.expect('r1')
  t.same([...s.outstanding()], [])
  s.keep('nope', outgoing('X'))
  t.same([...s.outstanding()], [])
  s.keep('r1', outgoing('R1'))
  t.same([...s.outstanding()].map((o) => o.command.session_id), ['R1'])
  s.deliver('r1', [])
  await wait
})
