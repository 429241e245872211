import { test } from 'tap'
import { connectedConstellation, eventLog, grantingServer, nextEvent, taskEnd, useClock } from './continuity-helpers.js'

test('a deadline that passes after the TASK was sent cancels it on the server ("timed out"); an ERROR refusing the cancel frees the slot', async (t) => {
  const server = await grantingServer(t, ['cancel'])
  const constellation = await connectedConstellation(t, server.url)
  const log = eventLog(constellation)
  const clock = useClock(t)
  const acked = nextEvent(constellation, 'taskAck')
  const first = constellation.sendTaskToDevice('dev1', { request: 'a', taskId: 'a' }, { timeoutMs: 1000 })
  const second = constellation.sendTaskToDevice('dev1', { request: 'b', taskId: 'b' })
  await acked
  const cancelSent = nextEvent(constellation, 'taskCancelSent')
  clock.advance(1000)
  await t.rejects(first, { code: 'AIP_ERR_TIMEOUT', sessionId: 'g@a' })
  t.match(await cancelSent, { sessionId: 'g@a', reason: 'timed out' })
  t.equal(constellation.getDevice('dev1')?.queued, 1, 'the next task waits for the server')
  const released = nextEvent(constellation, 'slotReleased')
  // The session had just ended on the server: it refuses the cancel with an ERROR carrying the session id.
  server.socket().send({ ...taskEnd('g@a'), type: 'error', status: 'error', error: "Session 'g@a' is not running" })
  t.match(await released, { sessionId: 'g@a', cause: 'refused' })
  await nextEvent(constellation, 'taskAck')
  server.socket().send(taskEnd('g@b'))
  t.equal((await second).status, 'completed')
  t.same(server.frames.map((f) => `${String(f.type)} ${String(f.error)}`), ['task null', 'task_cancel timed out', 'task null'])
  t.same(log, [
    'taskSent a', 'taskAck a', 'taskEnd a timed_out', 'taskCancelSent a timed out', 'slotReleased a refused',
    'taskSent b', 'taskAck b', 'taskEnd b completed'
  ])
})
