import { test } from 'tap'
import { ConstellationEndpoint } from '../src/index.js'
import { connectedConstellation, eventLog, grantingServer, nextEvent, taskEnd, useClock } from './continuity-helpers.js'

test('a cancel the server never confirms frees the slot after cancelConfirmTimeoutMs', async (t) => {
  const server = await grantingServer(t, ['cancel'])
  const constellation = new ConstellationEndpoint({ taskName: 'g', cancelConfirmTimeoutMs: 3000 })
  t.teardown(() => constellation.stop())
  await constellation.connectToDevice({ deviceId: 'dev1', serverUrl: server.url })
  const log = eventLog(constellation)
  const clock = useClock(t)
  const controller = new AbortController()
  const acked = nextEvent(constellation, 'taskAck')
  const first = constellation.sendTaskToDevice('dev1', { request: 'a', taskId: 'a', signal: controller.signal })
  const second = constellation.sendTaskToDevice('dev1', { request: 'b', taskId: 'b' })
  await acked
  controller.abort()
  await t.rejects(first, { code: 'AIP_ERR_CONSTELLATION_TASK_ABORTED' })
  clock.advance(2999)
  t.equal(constellation.getDevice('dev1')?.cancelling, 1, 'still held just before the bound')
  const released = nextEvent(constellation, 'slotReleased')
  clock.advance(1)
  t.match(await released, { sessionId: 'g@a', cause: 'timeout' })
  await nextEvent(constellation, 'taskAck')
  // A late TASK_END of the cancelled session is only reported.
  const late = nextEvent(constellation, 'unmatched')
  server.socket().send(taskEnd('g@a', 'failed'))
  t.match(await late, { reason: /no pending task/ })
  server.socket().send(taskEnd('g@b'))
  t.equal((await second).status, 'completed')
  t.same(log.slice(2), ['taskEnd a cancelled', 'taskCancelSent a aborted', 'slotReleased a timeout', 'taskSent b', 'taskAck b', 'taskEnd b completed'])
})

test('stop() frees the slots of cancelled tasks', async (t) => {
  const server = await grantingServer(t, ['cancel'])
  const constellation = await connectedConstellation(t, server.url)
  const log = eventLog(constellation)
  const controller = new AbortController()
  const acked = nextEvent(constellation, 'taskAck')
  const first = constellation.sendTaskToDevice('dev1', { request: 'a', taskId: 'a', signal: controller.signal })
  await acked
  controller.abort()
  await t.rejects(first, { code: 'AIP_ERR_CONSTELLATION_TASK_ABORTED' })
  await constellation.stop()
  t.same(log.slice(2), ['taskEnd a cancelled', 'taskCancelSent a aborted', 'slotReleased a stopped'])
})
