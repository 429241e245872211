import { test } from 'tap'
import { ConstellationEndpoint } from '../src/index.js'
import { eventLog, grantAnswer, nextEvent, ok, taskEnd } from './continuity-helpers.js'
import { scriptedServer, type Teardown } from './helpers.js'

const fast = { initialBackoffMs: 5, maxBackoffMs: 10 }

/**
 * A server that grants `resume` on the first registration, acks the first TASK and drops the connection; it answers
 * the next registration with `second`, then completes every TASK it gets.
 */
async function serverAnswering (t: Teardown, second: Record<string, unknown>): Promise<{ url: string, tasks: string[] }> {
  const tasks: string[] = []
  let connections = 0
  const { url } = await scriptedServer(t, async (socket) => {
    const n = ++connections
    await socket.next()
    socket.send(n === 1 ? grantAnswer({ capabilities: ['resume', 'cancel'] }) : second)
    for (;;) {
      const task = await socket.next(10_000)
      if (task.type !== 'task') continue
      tasks.push(String(task.session_id))
      socket.send(ok({ session_id: task.session_id }))
      if (n === 1) {
        socket.ws.terminate()
        return
      }
      socket.send(taskEnd(task.session_id))
    }
  })
  return { url, tasks }
}

for (const [name, second] of [
  ['the new registration says resumed false', grantAnswer({ capabilities: ['resume', 'cancel'], epoch: 1, resumed: false })],
  ['the new registration grants nothing (a restarted server without the extension)', ok()]
] as const) {
  test(`not resumed (${name}): the held task fails with DEVICE_DISCONNECTED; the queue goes on`, async (t) => {
    const { url, tasks } = await serverAnswering(t, second)
    const constellation = new ConstellationEndpoint({ taskName: 'g', reconnectionStrategy: fast })
    t.teardown(() => constellation.stop())
    await constellation.connectToDevice({ deviceId: 'dev1', serverUrl: url })
    const log = eventLog(constellation)
    const away = nextEvent(constellation, 'deviceAway')
    const held = constellation.sendTaskToDevice('dev1', { request: 'long', taskId: 'a' })
    const queued = constellation.sendTaskToDevice('dev1', { request: 'next', taskId: 'b' })
    await away
    await t.rejects(held, { code: 'AIP_ERR_CONSTELLATION_DEVICE_DISCONNECTED', message: /the session was not resumed/ })
    t.equal((await queued).status, 'completed', 'the queued task ran on the new connection')
    t.same(tasks, ['g@a', 'g@b'], 'the held task was not sent again')
    t.same(log, ['taskSent a', 'taskAck a', 'deviceAway 1 30000', 'taskEnd a disconnected', 'taskSent b', 'taskAck b', 'taskEnd b completed'])
    t.equal(constellation.getDevice('dev1')?.awaitingResume, false)
  })
}

test('a server that grants cancel but not resume: the drop fails the task and frees a cancelled slot at once', async (t) => {
  let connections = 0
  const { url } = await scriptedServer(t, async (socket) => {
    const n = ++connections
    await socket.next()
    socket.send(grantAnswer({ capabilities: ['cancel'], resumeWindowMs: 0 }))
    const first = await socket.next()
    socket.send(ok({ session_id: first.session_id }))
    if (n === 1) {
      const second = await socket.next()
      socket.send(ok({ session_id: second.session_id }))
      await socket.next() // the task_cancel of the first
      socket.ws.terminate()
    }
  })
  const constellation = new ConstellationEndpoint({ taskName: 'g', maxConcurrentTasks: 2, reconnectionStrategy: fast })
  t.teardown(() => constellation.stop())
  await constellation.connectToDevice({ deviceId: 'dev1', serverUrl: url })
  const log = eventLog(constellation)
  const controller = new AbortController()
  const acked = nextEvent(constellation, 'taskAck', ({ sessionId }) => sessionId === 'g@b')
  const cancelled = constellation.sendTaskToDevice('dev1', { request: 'x', taskId: 'a', signal: controller.signal })
  const running = constellation.sendTaskToDevice('dev1', { request: 'x', taskId: 'b' })
  await acked
  controller.abort()
  await t.rejects(cancelled, { code: 'AIP_ERR_CONSTELLATION_TASK_ABORTED' })
  await t.rejects(running, { code: 'AIP_ERR_CONSTELLATION_DEVICE_DISCONNECTED', message: /device_disconnected/ })
  t.same(log.slice(4), ['taskEnd a cancelled', 'taskCancelSent a aborted', 'slotReleased a disconnected', 'taskEnd b disconnected'])
})
