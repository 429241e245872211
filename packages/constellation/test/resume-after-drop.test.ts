import { test } from 'tap'
import { ConstellationEndpoint } from '../src/index.js'
import { eventLog, grantAnswer, nextEvent, ok, taskEnd } from './continuity-helpers.js'
import { scriptedServer } from './helpers.js'

const fast = { initialBackoffMs: 5, maxBackoffMs: 10 }

test('a running task survives a drop: re-sent with its session id on the resumed connection, it completes once', async (t) => {
  const tasks: Array<Record<string, any>> = []
  const registers: Array<Record<string, any>> = []
  let connections = 0
  const { url } = await scriptedServer(t, async (socket) => {
    const n = ++connections
    registers.push(await socket.next())
    socket.send(grantAnswer({ epoch: n, resumed: n > 1 }))
    const task = await socket.next()
    tasks.push(task)
    socket.send(ok({ session_id: task.session_id }))
    if (n === 1) {
      socket.ws.terminate()
      return
    }
    // The server ran it meanwhile: the re-sent TASK is answered with its TASK_END, twice by mistake.
    socket.send(taskEnd(task.session_id, 'completed', { result: { done: true } }))
    socket.send(taskEnd(task.session_id, 'completed', { result: { done: 'again' } }))
  })
  const constellation = new ConstellationEndpoint({ taskName: 'g', reconnectionStrategy: fast })
  t.teardown(() => constellation.stop())
  const log = eventLog(constellation)
  const disconnected: string[] = []
  constellation.on('deviceDisconnected', ({ deviceId }) => disconnected.push(deviceId))
  await constellation.connectToDevice({ deviceId: 'dev1', serverUrl: url })
  const away = nextEvent(constellation, 'deviceAway')
  const duplicate = nextEvent(constellation, 'unmatched', ({ message }) => message.type === 'task_end')
  const running = constellation.sendTaskToDevice('dev1', { request: 'long', taskId: 'a' })
  await away
  t.equal(constellation.getDevice('dev1')?.awaitingResume, true, 'waiting for the resume')
  t.equal(constellation.getDevice('dev1')?.running, 1, 'the task is still running')
  const end = await running
  t.equal(end.status, 'completed')
  t.same(end.result, { done: true }, 'ended by the first TASK_END')
  await duplicate
  t.equal(tasks.length, 2, 'the TASK was sent twice')
  t.equal(tasks[1]?.session_id, tasks[0]?.session_id, 'with the same session id')
  const same = (task: Record<string, any> | undefined): Record<string, any> => ({ ...task, timestamp: null, request_id: null, metadata: null })
  t.same(same(tasks[1]), same(tasks[0]), 'the same TASK')
  t.ok(tasks[1]?.metadata.aip_timeout_ms <= tasks[0]?.metadata.aip_timeout_ms, 'carrying the time left of its deadline (deadline granted)')
  t.same(registers[1]?.metadata.aip_capabilities, ['resume', 'cancel', 'deadline'], 'the new REGISTER asks again')
  t.same(log, [
    'taskSent a', 'taskAck a', 'deviceAway 1 30000',
    'taskSent a resent', 'deviceResumed 1 2', 'taskAck a', 'taskEnd a completed'
  ], 'ack accepted again; one end')
  t.same(disconnected, ['dev1'], 'the reference hooks still ran')
  const snapshot = constellation.getDevice('dev1')
  t.equal(snapshot?.awaitingResume, false)
  t.equal(snapshot?.connections, 2)
  t.equal(snapshot?.continuity?.epoch, 2)
})

test('a task cancelled while its device is away: task_cancel goes out on the resumed connection', async (t) => {
  const frames: Array<Record<string, any>> = []
  let connections = 0
  const { url } = await scriptedServer(t, async (socket) => {
    const n = ++connections
    await socket.next()
    socket.send(grantAnswer({ epoch: n, resumed: n > 1 }))
    for (;;) {
      const frame = await socket.next(10_000)
      frames.push(frame)
      if (frame.type === 'task' && n === 1) {
        socket.send(ok({ session_id: frame.session_id }))
        socket.ws.terminate()
        return
      }
      if (frame.type === 'task_cancel') socket.send(taskEnd(frame.session_id, 'failed', { error: 'cancelled by the requester' }))
    }
  })
  const constellation = new ConstellationEndpoint({ taskName: 'g', reconnectionStrategy: fast })
  t.teardown(() => constellation.stop())
  await constellation.connectToDevice({ deviceId: 'dev1', serverUrl: url })
  const log = eventLog(constellation)
  const controller = new AbortController()
  const away = nextEvent(constellation, 'deviceAway')
  const running = constellation.sendTaskToDevice('dev1', { request: 'long', taskId: 'a' }, { signal: controller.signal })
  await away
  controller.abort()
  await t.rejects(running, { code: 'AIP_ERR_CONSTELLATION_TASK_ABORTED' }, 'rejects at once, while away')
  t.equal(constellation.getDevice('dev1')?.cancelling, 1, 'its slot stays taken')
  await nextEvent(constellation, 'slotReleased')
  t.same(frames.map((f) => f.type), ['task', 'task_cancel'], 'no TASK again: only its cancel')
  t.same(log, ['taskSent a', 'taskAck a', 'deviceAway 1 30000', 'taskEnd a cancelled', 'taskCancelSent a aborted', 'deviceResumed 0 2', 'slotReleased a task_end'])
  t.equal(constellation.getDevice('dev1')?.cancelling, 0)
})
