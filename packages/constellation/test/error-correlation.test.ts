import { test } from 'tap'
import { ConstellationEndpoint } from '../src/index.js'
import { SimDevice, TestServer, scriptedServer, serverFrame, waitFor, type ScriptedSocket } from './helpers.js'
import { connectedConstellation } from './continuity-helpers.js'

const ok = (fields: Record<string, unknown> = {}): Record<string, unknown> => serverFrame({ type: 'heartbeat', status: 'ok', ...fields })
/** A Python-style ERROR: no session id, a fresh response id (B5). */
const pyError = (text: string): Record<string, unknown> => serverFrame({ type: 'error', status: 'error', error: text })

/** Accepts the REGISTER, then hands the socket to `script`. */
function afterRegister (script: (socket: ScriptedSocket, register: Record<string, any>) => Promise<void>) {
  return async (socket: ScriptedSocket): Promise<void> => {
    const register = await socket.next()
    socket.send(ok())
    await script(socket, register)
  }
}

test('our server: a device that dies fails its task with TASK_END, then TASK is refused at once', async (t) => {
  const server = await TestServer.start(t)
  const device = await SimDevice.start(t, server.wsUrl, 'dev1')
  const constellation = await connectedConstellation(t, server.wsUrl)
  const acked = new Promise((resolve) => constellation.on('taskAck', resolve))
  const running = constellation.sendTaskToDevice('dev1', { request: '10000', taskId: 'long' })
  await acked
  await waitFor(() => server.endpoint.sessionCount === 1, 2000, 'session running')
  device.kill()
  const end = await running
  t.equal(end.status, 'failed', 'the server ended it with TASK_END failed')
  t.equal(end.error, 'Task was cancelled because target device disconnected')
  t.ok(constellation.isDeviceConnected('dev1'), 'the constellation connection stays')

  const started = Date.now()
  await t.rejects(constellation.sendTaskToDevice('dev1', { request: 'x', taskId: 'next', timeoutMs: 20_000 }), {
    code: 'AIP_ERR_CONSTELLATION_TASK_REFUSED',
    message: /Target device 'dev1' is not connected/
  })
  t.ok(Date.now() - started < 2000, 'refused at once, not after the timeout')
})

test('Python-style ERROR without ids rejects the only task waiting for its ack', async (t) => {
  const { url } = await scriptedServer(t, afterRegister(async (socket) => {
    const task = await socket.next()
    t.equal(task.type, 'task')
    socket.send(pyError(`Target device '${String(task.target_id)}' is not connected`))
  }))
  const constellation = await connectedConstellation(t, url)
  const outcomes: string[] = []
  constellation.on('taskEnd', ({ outcome }) => outcomes.push(outcome))
  const started = Date.now()
  await t.rejects(constellation.sendTaskToDevice('dev1', { request: 'x', timeoutMs: 20_000 }), {
    code: 'AIP_ERR_CONSTELLATION_TASK_REFUSED', message: /Target device 'dev1' is not connected/
  })
  t.ok(Date.now() - started < 2000, 'at once')
  t.same(outcomes, ['refused'])
})

test('an ERROR with the session id rejects that task only; others go on', async (t) => {
  const { url } = await scriptedServer(t, afterRegister(async (socket) => {
    const a = await socket.next()
    const b = await socket.next()
    socket.send(ok({ session_id: a.session_id }))
    socket.send(serverFrame({ type: 'error', status: 'error', error: 'nope', session_id: b.session_id }))
    socket.send(serverFrame({ type: 'error', status: 'error', error: 'unrelated', session_id: 'g@other' }))
    socket.send(serverFrame({ type: 'task_end', status: 'completed', session_id: a.session_id, result: { ok: true } }))
  }))
  const constellation = new ConstellationEndpoint({ taskName: 'g', maxConcurrentTasks: 2 })
  t.teardown(() => constellation.stop())
  await constellation.connectToDevice({ deviceId: 'dev1', serverUrl: url })
  const unmatched: string[] = []
  constellation.on('unmatched', ({ message }) => unmatched.push(String(message.error)))
  const [a, b] = await Promise.allSettled([
    constellation.sendTaskToDevice('dev1', { request: 'a', taskId: 'a' }),
    constellation.sendTaskToDevice('dev1', { request: 'b', taskId: 'b' })
  ])
  t.equal(a.status === 'fulfilled' && a.value.status, 'completed')
  t.same(a.status === 'fulfilled' && a.value.result, { ok: true })
  t.match(b.status === 'rejected' && b.reason, { code: 'AIP_ERR_CONSTELLATION_TASK_REFUSED', message: /nope/ })
  t.same(unmatched, ['unrelated'], 'an ERROR for no pending session is only reported')
})

test('an id-less ERROR with two requests waiting is ambiguous: logged, not guessed', async (t) => {
  let end: (() => void) | undefined
  const { url } = await scriptedServer(t, afterRegister(async (socket) => {
    const a = await socket.next()
    const b = await socket.next()
    socket.send(pyError('which one?'))
    end = () => {
      socket.send(serverFrame({ type: 'task_end', status: 'failed', error: 'e', session_id: a.session_id }))
      socket.send(serverFrame({ type: 'task_end', status: 'completed', session_id: b.session_id }))
    }
  }))
  const constellation = new ConstellationEndpoint({ taskName: 'g', maxConcurrentTasks: 2 })
  t.teardown(() => constellation.stop())
  await constellation.connectToDevice({ deviceId: 'dev1', serverUrl: url })
  const unmatched = new Promise<string>((resolve) => constellation.on('unmatched', ({ reason }) => resolve(reason)))
  const a = constellation.sendTaskToDevice('dev1', { request: 'a', taskId: 'a' })
  const b = constellation.sendTaskToDevice('dev1', { request: 'b', taskId: 'b' })
  t.match(await unmatched, /no single pending request/)
  end?.()
  t.equal((await a).status, 'failed')
  t.equal((await a).error, 'e')
  t.equal((await b).status, 'completed')
})

test('device info: correlated by request_id; an ERROR with its id, or id-less and alone, rejects it', async (t) => {
  let step = 0
  const { url } = await scriptedServer(t, afterRegister(async (socket) => {
    for (;;) {
      const request = await socket.next(10_000)
      if (request.type !== 'device_info_request') continue
      step++
      if (step === 1) socket.send(serverFrame({ type: 'device_info_response', status: 'ok', response_id: request.request_id, result: { os: 'linux' } }))
      if (step === 2) socket.send(serverFrame({ type: 'error', status: 'error', error: 'Not authorized to request device info for this device', response_id: request.request_id }))
      if (step === 3) socket.send(pyError('Not authorized to request device info for this device'))
      if (step === 4) socket.send(serverFrame({ type: 'device_info_response', status: 'error', error: 'bad', response_id: request.request_id }))
      if (step === 5) socket.send(serverFrame({ type: 'device_info_response', status: 'ok', response_id: 'someone-else', result: {} }))
      if (step === 6) socket.send(serverFrame({ type: 'device_info_response', status: 'ok', response_id: request.request_id, result: 'odd' }))
    }
  }))
  const constellation = await connectedConstellation(t, url)
  t.same(await constellation.requestDeviceInfo('dev1'), { os: 'linux' })
  await t.rejects(constellation.requestDeviceInfo('dev1'), { code: 'AIP_ERR_CONSTELLATION_DEVICE_INFO_REFUSED', message: /Not authorized/ })
  await t.rejects(constellation.requestDeviceInfo('dev1'), { code: 'AIP_ERR_CONSTELLATION_DEVICE_INFO_REFUSED', message: /Not authorized/ })
  await t.rejects(constellation.requestDeviceInfo('dev1'), { code: 'AIP_ERR_CONSTELLATION_DEVICE_INFO_REFUSED', message: /bad/ })
  await t.rejects(constellation.requestDeviceInfo('dev1', { timeoutMs: 100 }), { code: 'AIP_ERR_TIMEOUT' })
  t.equal(await constellation.requestDeviceInfo('dev1'), null, 'a result that is not an object is null')
  const controller = new AbortController()
  const aborted = constellation.requestDeviceInfo('dev1', { signal: controller.signal })
  controller.abort()
  await t.rejects(aborted, { code: 'AIP_ERR_ABORTED' })
  await t.rejects(constellation.requestDeviceInfo('dev1', { signal: AbortSignal.abort() }), { code: 'AIP_ERR_ABORTED' })
  await t.rejects(constellation.requestDeviceInfo('dev1', { timeoutMs: 0 }), { code: 'AIP_ERR_INVALID_ARGUMENT' })
  await t.rejects(constellation.requestDeviceInfo('nobody'), { code: 'AIP_ERR_CONSTELLATION_UNKNOWN_DEVICE' })
})

test('registration: an ERROR is a coded refusal at once; silence is a timeout; a bad token is CONNECT with httpStatus', async (t) => {
  const server = await TestServer.start(t, { token: 'tok' })
  const constellation = new ConstellationEndpoint({ taskName: 'g', registrationTimeoutMs: 200 })
  t.teardown(() => constellation.stop())
  const failed: string[] = []
  constellation.on('deviceState', ({ deviceId, to }) => { if (to === 'failed') failed.push(deviceId) })

  await t.rejects(constellation.connectToDevice({ deviceId: 'ghost', serverUrl: server.wsUrl }), {
    code: 'AIP_ERR_CONSTELLATION_REGISTRATION_REFUSED', message: /Target device 'ghost' is not connected/
  })
  t.equal(constellation.getDevice('ghost')?.status, 'failed')
  await t.rejects(constellation.sendTaskToDevice('ghost', { request: 'x' }), { code: 'AIP_ERR_CONSTELLATION_NOT_CONNECTED' })
  await t.rejects(constellation.requestDeviceInfo('ghost'), { code: 'AIP_ERR_CONSTELLATION_NOT_CONNECTED' })

  const err = await constellation.connectToDevice({ deviceId: 'dev1', serverUrl: `ws://127.0.0.1:${server.port}/ws?token=wrong` }).catch((e: unknown) => e)
  t.match(err, { code: 'AIP_ERR_CONSTELLATION_CONNECT' })
  t.ok([401, 403].includes((err as { httpStatus: number }).httpStatus), `httpStatus ${String((err as { httpStatus: number }).httpStatus)}`)
  t.notMatch((err as Error).message, /wrong/, 'the token is not in the message')

  const { url } = await scriptedServer(t, async (socket) => { await socket.next() })
  await t.rejects(constellation.connectToDevice({ deviceId: 'mute', serverUrl: url }), { code: 'AIP_ERR_CONSTELLATION_REGISTRATION_TIMEOUT' })
  await t.rejects(constellation.connectToDevice({ deviceId: 'closed', serverUrl: 'ws://127.0.0.1:1/ws' }), { code: 'AIP_ERR_CONSTELLATION_CONNECT', httpStatus: undefined })
  t.same(failed, ['ghost', 'dev1', 'mute', 'closed'])

  // A failed device can be connected again once its device is there.
  await SimDevice.start(t, server.wsUrl, 'ghost')
  t.equal(await constellation.reconnectDevice('ghost'), true)
  t.equal(constellation.getDevice('ghost')?.status, 'idle')
})

test('timeout, abort and a late TASK_END: each task settles once, late frames are dropped', async (t) => {
  let socketRef: ScriptedSocket | undefined
  const sessions: string[] = []
  const { url } = await scriptedServer(t, afterRegister(async (socket) => {
    socketRef = socket
    for (;;) {
      const frame = await socket.next(10_000)
      if (frame.type === 'task') {
        sessions.push(frame.session_id)
        socket.send(ok({ session_id: frame.session_id }))
      }
    }
  }))
  const constellation = new ConstellationEndpoint({ taskName: 'g', taskTimeoutMs: 100 })
  t.teardown(() => constellation.stop())
  await constellation.connectToDevice({ deviceId: 'dev1', serverUrl: url })
  const outcomes: string[] = []
  constellation.on('taskEnd', ({ outcome }) => outcomes.push(outcome))
  const unmatched: string[] = []
  constellation.on('unmatched', ({ message }) => unmatched.push(`${message.type}:${String(message.session_id)}`))

  const slow = await constellation.sendTaskToDevice('dev1', { request: 'x', taskId: 'slow' }).catch((e: unknown) => e)
  t.match(slow, { code: 'AIP_ERR_TIMEOUT' })
  socketRef?.send(serverFrame({ type: 'task_end', status: 'completed', session_id: 'g@slow' }))
  await waitFor(() => unmatched.includes('task_end:g@slow'), 2000, 'late TASK_END dropped')

  const controller = new AbortController()
  const acked = new Promise((resolve) => constellation.on('taskAck', resolve))
  const running = constellation.sendTaskToDevice('dev1', { request: 'x', taskId: 'running', signal: controller.signal, timeoutMs: 5000 })
  const queuedController = new AbortController()
  const queued = constellation.sendTaskToDevice('dev1', { request: 'x', taskId: 'queued', signal: queuedController.signal, timeoutMs: 5000 })
  t.equal(constellation.getDevice('dev1')?.queued, 1, 'the second task waits in the queue')
  queuedController.abort()
  await t.rejects(queued, { code: 'AIP_ERR_CONSTELLATION_TASK_ABORTED' })
  await acked
  controller.abort()
  await t.rejects(running, { code: 'AIP_ERR_CONSTELLATION_TASK_ABORTED' })
  await t.rejects(constellation.sendTaskToDevice('dev1', { request: 'x', signal: AbortSignal.abort() }), { code: 'AIP_ERR_CONSTELLATION_TASK_ABORTED' })
  t.same(outcomes, ['timed_out', 'cancelled', 'cancelled'], 'a task aborted before the call is refused, never queued')
  t.same(sessions, ['g@slow', 'g@running'], 'the aborted queued task was never sent')
  t.equal(constellation.getDevice('dev1')?.running, 0)
  t.equal(constellation.getDevice('dev1')?.queued, 0)
})

test('the connection closing rejects the running task and device info with DEVICE_DISCONNECTED', async (t) => {
  const { url } = await scriptedServer(t, afterRegister(async (socket) => {
    const first = await socket.next()
    const second = await socket.next()
    t.same([first.type, second.type].sort(), ['device_info_request', 'task'])
    socket.ws.terminate()
  }))
  const constellation = new ConstellationEndpoint({ taskName: 'g', autoReconnect: false, keepQueueWhileReconnecting: false })
  t.teardown(() => constellation.stop())
  await constellation.connectToDevice({ deviceId: 'dev1', serverUrl: url })
  const states: string[] = []
  constellation.on('deviceState', ({ to }) => states.push(to))
  const task = constellation.sendTaskToDevice('dev1', { request: 'x' })
  const queued = constellation.sendTaskToDevice('dev1', { request: 'y' })
  const info = constellation.requestDeviceInfo('dev1')
  await t.rejects(task, { code: 'AIP_ERR_CONSTELLATION_DEVICE_DISCONNECTED' })
  await t.rejects(queued, { code: 'AIP_ERR_CONSTELLATION_DEVICE_DISCONNECTED' })
  await t.rejects(info, { code: 'AIP_ERR_CONSTELLATION_DEVICE_DISCONNECTED' })
  await waitFor(() => states.includes('failed'), 2000, 'failed')
  t.same(states, ['busy', 'disconnected', 'failed'])
  await t.rejects(constellation.sendTaskToDevice('dev1', { request: 'x' }), { code: 'AIP_ERR_CONSTELLATION_NOT_CONNECTED' })
})

test('a TASK_END counts only on the device\'s own connection; the message processor sees everything', async (t) => {
  const sockets = new Map<string, ScriptedSocket>()
  const tasks = new Map<string, Record<string, any>>()
  const { url } = await scriptedServer(t, async (socket) => {
    const register = await socket.next()
    sockets.set(register.target_id, socket)
    socket.send(ok())
    for (;;) {
      const frame = await socket.next(10_000)
      if (frame.type === 'task') tasks.set(register.target_id, frame)
    }
  })
  const seen: string[] = []
  const constellation = new ConstellationEndpoint({
    taskName: 'g',
    messageProcessor: {
      processMessage: (message, { deviceId }) => {
        seen.push(`${deviceId}:${message.type}`)
        if (message.type === 'task_end') throw new Error('processor bug')
      }
    }
  })
  t.teardown(() => constellation.stop())
  const errors: string[] = []
  constellation.on('error', ({ context }) => errors.push(context))
  await constellation.connectToDevice({ deviceId: 'dev1', serverUrl: url })
  await constellation.connectToDevice({ deviceId: 'dev2', serverUrl: url })
  let settled = false
  const task = constellation.sendTaskToDevice('dev1', { request: 'x', taskId: 't1' }).finally(() => { settled = true })
  await waitFor(() => tasks.has('dev1'), 2000, 'TASK on dev1')
  const sessionId = tasks.get('dev1')?.session_id as string
  sockets.get('dev2')?.send(serverFrame({ type: 'task_end', status: 'completed', session_id: sessionId }))
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.notOk(settled, 'a TASK_END on another device\'s connection does not end the task')
  sockets.get('dev1')?.send(serverFrame({ type: 'task_end', status: 'completed', session_id: sessionId }))
  t.equal((await task).status, 'completed')
  t.same(seen, ['dev1:heartbeat', 'dev2:heartbeat', 'dev2:task_end', 'dev1:task_end'], 'the processor saw every message, with its device')
  t.same(errors, ['messageProcessor', 'messageProcessor'], 'its errors are reported, and processing went on')
})

test('a function message processor', async (t) => {
  const { url } = await scriptedServer(t, afterRegister(async () => {}))
  const seen: string[] = []
  const constellation = new ConstellationEndpoint({ taskName: 'g', messageProcessor: (message) => { seen.push(message.type) } })
  t.teardown(() => constellation.stop())
  await constellation.connectToDevice({ deviceId: 'dev1', serverUrl: url })
  t.same(seen, ['heartbeat'])
})
