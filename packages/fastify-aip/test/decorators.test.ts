import { test } from 'tap'
import type { Agent, ClientRecord, DeviceDisconnectedInfo, SessionChange, TaskRecord } from '../src/index.js'
import { buildApp, echoDevice, injectedDevice, listen, registeredDevice, until } from './helpers/harness.js'

// fastify.aip.tasks and fastify.aip.sessions from a route, and the plugin hooks.

const agent: Agent = async (task, context) => {
  if (task.request === 'hold') {
    await new Promise((resolve) => context.signal.addEventListener('abort', resolve, { once: true }))
    return { status: 'failed' }
  }
  await context.execute([{ tool_name: 'list_tools', parameters: {}, tool_type: 'data_collection' }])
  return { status: 'completed' }
}

test('tasks.dispatch from a route awaits TASK_END; sessions list, get and stream the changes', async (t) => {
  const registered: ClientRecord[] = []
  const ended: TaskRecord[] = []
  const gone: DeviceDisconnectedInfo[] = []
  const app = await buildApp(t, {
    agent,
    onDeviceRegistered: (record) => { registered.push(record) },
    onDeviceDisconnected: async (info) => { gone.push(info) },
    onTaskEnd: (record, fastify) => { ended.push(record); t.equal(fastify.aip.sessions.get(record.sessionId)?.status, record.status) }
  }, {}, (instance) => {
    instance.post<{ Body: { device: string, request: string } }>('/run', async (request) => {
      return await request.server.aip.tasks.dispatch(request.body.device, request.body.request, { taskName: 'from-route', timeoutMs: 5000 })
    })
  })
  const changes: SessionChange[] = []
  const unsubscribe = app.aip.sessions.on('change', (change) => changes.push(change))
  app.aip.sessions.on('change', () => { throw new Error('a failing listener is logged, not thrown') })
  const { ws } = await listen(app)
  const device = await registeredDevice(t, `${ws}/ws`, 'dec-dev')
  echoDevice(device, 'dec-dev')
  t.match(registered, [{ clientId: 'dec-dev', clientType: 'device' }], 'onDeviceRegistered')

  const reply = await app.inject({ method: 'POST', url: '/run', body: { device: 'dec-dev', request: 'list' } })
  t.equal(reply.statusCode, 200)
  const record = reply.json()
  t.match(record, { status: 'completed', deviceId: 'dec-dev', taskName: 'from-route', request: 'list' })
  t.same(changes.map((c) => c.type), ['started', 'ended'], 'the change stream saw the start and the end')
  t.match(changes[0], { type: 'started', session: { status: 'running', sessionId: record.sessionId, deviceId: 'dec-dev' } })
  t.match(app.aip.sessions.get(record.sessionId), { status: 'completed' }, 'get() reads a finished session')
  t.equal(app.aip.sessions.get('nope'), undefined)
  t.match(ended, [{ sessionId: record.sessionId }], 'onTaskEnd')
  unsubscribe()

  const offline = await app.inject({ method: 'POST', url: '/run', body: { device: 'ghost', request: 'x' } })
  t.equal(offline.statusCode, 404, 'a coded error becomes its HTTP status')
  t.match(offline.json(), { code: 'AIP_ERR_FASTIFY_CLIENT_NOT_CONNECTED' })

  device.ws.close()
  await device.closed
  await new Promise((resolve) => setTimeout(resolve, 20))
  t.match(gone, [{ clientId: 'dec-dev', clientType: 'device' }], 'onDeviceDisconnected')
  t.equal(changes.length, 2, 'no change after unsubscribe')
})

test('tasks.dispatch rejects with coded errors: timeout, abort, bad input; sessions.cancel ends a running task', async (t) => {
  // injectWS opens no socket and the endpoint's timers are unref'd: keep the process alive while waiting.
  const keepAlive = setInterval(() => {}, 1000)
  t.teardown(() => clearInterval(keepAlive))
  const app = await buildApp(t, { agent, onTaskEnd: () => { throw new Error('hook failure is logged') } })
  const device = await injectedDevice(t, app, '/ws', 'rej-dev')
  echoDevice(device, 'rej-dev')

  await t.rejects(app.aip.tasks.dispatch('rej-dev', 'hold', { taskName: 'slow', timeoutMs: 50 }), { code: 'AIP_ERR_FASTIFY_TASK_TIMEOUT', statusCode: 504, message: 'Task slow got no TASK_END within 50 ms' })
  const end = (await until(device, (f) => f.type === 'task_end')).frame
  t.match(end, { status: 'failed', error: 'Task was cancelled: timed out' }, 'the timed-out task is cancelled on the wire')

  const controller = new AbortController()
  const aborted = app.aip.tasks.dispatch('rej-dev', 'hold', { taskName: 'aborted', signal: controller.signal })
  await until(device, (f) => f.type === 'heartbeat' && f.session_id !== null)
  controller.abort()
  await t.rejects(aborted, { code: 'AIP_ERR_FASTIFY_TASK_ABORTED', statusCode: 499 })
  await t.rejects(app.aip.tasks.dispatch('rej-dev', 'x', { signal: AbortSignal.abort() }), { code: 'AIP_ERR_FASTIFY_TASK_ABORTED' }, 'an aborted signal sends nothing')
  await t.rejects(app.aip.tasks.dispatch('rej-dev', ''), { code: 'AIP_ERR_FASTIFY_INVALID_TASK', statusCode: 400 })
  await t.rejects(app.aip.tasks.dispatch('', 'x'), { code: 'AIP_ERR_FASTIFY_INVALID_TASK' })

  const started = await app.aip.tasks.start('rej-dev', 'hold', { taskName: 'cancel-me' })
  await until(device, (f) => f.type === 'heartbeat' && f.session_id === started.sessionId)
  t.match(app.aip.sessions.list(), [{ sessionId: started.sessionId, status: 'running', taskName: 'cancel-me' }])
  t.match(app.aip.sessions.get(started.sessionId), { status: 'running' })
  t.ok(app.aip.sessions.cancel(started.sessionId))
  t.match(await started.done, { status: 'failed', error: 'Task was cancelled: cancelled' }, 'a cancelled task resolves with its failed record')
  t.notOk(app.aip.sessions.cancel(started.sessionId), 'not running any more')
  t.throws(() => app.aip.sessions.on('other' as 'change', () => {}), TypeError)
})

test('sessions.on(change) after every listener left: the changes are streamed again', async (t) => {
  const keepAlive = setInterval(() => {}, 1000)
  t.teardown(() => clearInterval(keepAlive))
  const app = await buildApp(t, { agent })
  const device = await injectedDevice(t, app, '/ws', 'again-dev')
  echoDevice(device, 'again-dev')
  const first: string[] = []
  const off = app.aip.sessions.on('change', (change) => first.push(change.type))
  await app.aip.tasks.dispatch('again-dev', 'list')
  off()
  off()
  await app.aip.tasks.dispatch('again-dev', 'list')
  t.same(first, ['started', 'ended'], 'nothing after the last listener left')
  const second: SessionChange[] = []
  app.aip.sessions.on('change', (change) => second.push(change))
  const record = await app.aip.tasks.dispatch('again-dev', 'list')
  t.same(second.map((c) => c.type), ['started', 'ended'], 'a new listener gets the changes')
  t.match(second[1], { type: 'ended', record: { sessionId: record.sessionId, status: 'completed' } })
  app.aip.sessions.close()
  app.aip.sessions.on('change', (change) => second.push(change))
  await app.aip.tasks.dispatch('again-dev', 'list')
  t.equal(second.length, 2, 'nothing once closed')
})
