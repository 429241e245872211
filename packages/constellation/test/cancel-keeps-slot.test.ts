import { test } from 'tap'
import { connectedConstellation, eventLog, grantingServer, nextEvent, taskEnd } from './continuity-helpers.js'

test('an abort sends task_cancel; the slot stays taken until the TASK_END: the next task waits for it', async (t) => {
  const server = await grantingServer(t, ['resume', 'cancel', 'deadline'])
  const constellation = await connectedConstellation(t, server.url)
  const log = eventLog(constellation)
  const controller = new AbortController()
  const acked = nextEvent(constellation, 'taskAck')
  const first = constellation.sendTaskToDevice('dev1', { request: 'a', taskId: 'a', signal: controller.signal })
  const second = constellation.sendTaskToDevice('dev1', { request: 'b', taskId: 'b' })
  await acked
  const cancelSent = nextEvent(constellation, 'taskCancelSent')
  controller.abort(new Error('enough'))
  await t.rejects(first, { code: 'AIP_ERR_CONSTELLATION_TASK_ABORTED' }, 'the caller\'s promise rejects at once')
  await cancelSent
  t.match(constellation.getDevice('dev1'), { running: 0, cancelling: 1, queued: 1, status: 'busy' }, 'the second task waits')
  await t.rejects(constellation.sendTaskToDevice('dev1', { request: 'again', taskId: 'a' }), { code: 'AIP_ERR_CONSTELLATION_DUPLICATE_SESSION' },
    'the session still runs on the server')
  const released = nextEvent(constellation, 'slotReleased')
  // The server's answer to the cancel: the TASK_END failed of that session.
  server.socket().send(taskEnd('g@a', 'failed', { error: 'cancelled by the requester' }))
  t.match(await released, { sessionId: 'g@a', cause: 'task_end' })
  const secondAck = await nextEvent(constellation, 'taskAck')
  t.equal(secondAck.sessionId, 'g@b')
  server.socket().send(taskEnd('g@b'))
  t.equal((await second).status, 'completed')
  t.same(server.frames.map((f) => `${String(f.type)} ${String(f.session_id)}`), ['task g@a', 'task_cancel g@a', 'task g@b'])
  t.match(server.frames[1], { type: 'task_cancel', status: 'ok', client_type: 'constellation', client_id: 'g@dev1', target_id: 'dev1', session_id: 'g@a', error: 'aborted' })
  t.same(log, [
    'taskSent a', 'taskAck a', 'taskEnd a cancelled', 'taskCancelSent a aborted', 'slotReleased a task_end',
    'taskSent b', 'taskAck b', 'taskEnd b completed'
  ], 'the second TASK only after the first session ended on the server')
})
