import { test } from 'tap'
import { ConstellationEndpoint } from '../src/index.js'
import { eventLog, grantAnswer, isSettled, nextEvent, ok, useClock } from './continuity-helpers.js'
import { scriptedServer } from './helpers.js'

test('no registration within the resume window + margin: the held task fails then, with DEVICE_DISCONNECTED', async (t) => {
  let refuse = false
  const { url } = await scriptedServer(t, async (socket) => {
    // While the "server" is away, every new connection is dropped before it can register.
    if (refuse) {
      socket.ws.terminate()
      return
    }
    await socket.next()
    socket.send(grantAnswer({ resumeWindowMs: 1000 }))
    const task = await socket.next()
    socket.send(ok({ session_id: task.session_id }))
    refuse = true
    socket.ws.terminate()
  })
  const constellation = new ConstellationEndpoint({
    taskName: 'g', resumeMarginMs: 500, reconnectionStrategy: { initialBackoffMs: 100, maxBackoffMs: 100 }
  })
  t.teardown(() => constellation.stop())
  await constellation.connectToDevice({ deviceId: 'dev1', serverUrl: url })
  const log = eventLog(constellation)
  const clock = useClock(t)
  const away = nextEvent(constellation, 'deviceAway')
  const held = constellation.sendTaskToDevice('dev1', { request: 'long', taskId: 'a' })
  await away
  // Reconnection attempts go on (each one dropped) while the fake time walks to the end of the window + margin.
  for (let ms = 0; ms < 1499; ms += 100) {
    clock.advance(Math.min(100, 1499 - ms))
    t.notOk(await isSettled(held), `still held at ${ms + Math.min(100, 1499 - ms)} ms`)
  }
  t.equal(constellation.getDevice('dev1')?.awaitingResume, true)
  clock.advance(1)
  await t.rejects(held, {
    code: 'AIP_ERR_CONSTELLATION_DEVICE_DISCONNECTED',
    message: /the session was not resumed: no registration within the resume window \(1000 ms \+ 500 ms\)/
  })
  t.same(log.slice(0, 3), ['taskSent a', 'taskAck a', 'deviceAway 1 1000'])
  t.equal(log.at(-1), 'taskEnd a disconnected')
  t.equal(constellation.getDevice('dev1')?.awaitingResume, false)
})

test('without automatic reconnection nothing is held: the running task fails at the drop', async (t) => {
  const { url } = await scriptedServer(t, async (socket) => {
    await socket.next()
    socket.send(grantAnswer())
    const task = await socket.next()
    socket.send(ok({ session_id: task.session_id }))
    socket.ws.terminate()
  })
  const constellation = new ConstellationEndpoint({ taskName: 'g', autoReconnect: false })
  t.teardown(() => constellation.stop())
  await constellation.connectToDevice({ deviceId: 'dev1', serverUrl: url })
  const away: unknown[] = []
  constellation.on('deviceAway', (e) => away.push(e))
  await t.rejects(constellation.sendTaskToDevice('dev1', { request: 'long' }), { code: 'AIP_ERR_CONSTELLATION_DEVICE_DISCONNECTED' })
  t.same(away, [])
})

test('a device given up while its tasks are held: they fail as given up, the hold ends', async (t) => {
  let refuse = false
  const { url } = await scriptedServer(t, async (socket) => {
    if (refuse) {
      await socket.next()
      socket.send({ ...ok(), type: 'error', status: 'error', error: 'Target device is not connected' })
      return
    }
    await socket.next()
    socket.send(grantAnswer())
    const task = await socket.next()
    socket.send(ok({ session_id: task.session_id }))
    refuse = true
    socket.ws.terminate()
  })
  const constellation = new ConstellationEndpoint({ taskName: 'g', reconnectionStrategy: { initialBackoffMs: 5, maxBackoffMs: 10 } })
  t.teardown(() => constellation.stop())
  await constellation.connectToDevice({ deviceId: 'dev1', serverUrl: url, maxRetries: 2 })
  const held = constellation.sendTaskToDevice('dev1', { request: 'long' })
  await t.rejects(held, { code: 'AIP_ERR_CONSTELLATION_DEVICE_DISCONNECTED', message: /given up/ })
  t.equal(constellation.getDevice('dev1')?.status, 'failed')
  t.equal(constellation.getDevice('dev1')?.awaitingResume, false)
})
