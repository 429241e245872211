import { test } from 'tap'
import type { Agent } from '../src/index.js'
import { API_KEY, buildApp, echoDevice, injectedDevice, until } from './helpers/harness.js'

// The reference HTTP API behind X-API-Key: success, auth failures, bad input and unknown clients, per route.

const headers = { 'x-api-key': API_KEY }

/** One COMMAND, then completed; 'hold' waits until the task is cancelled. */
const agent: Agent = async (task, context) => {
  if (task.request === 'hold') {
    await new Promise((resolve) => context.signal.addEventListener('abort', resolve, { once: true }))
    return { status: 'failed', error: 'cancelled' }
  }
  await context.execute([{ tool_name: 'list_tools', parameters: {}, tool_type: 'data_collection' }])
  return { status: 'completed' }
}

test('every API route refuses a missing or wrong X-API-Key with 401 (the reference: 422 when missing)', async (t) => {
  const app = await buildApp(t, { apiKey: API_KEY })
  const routes = [
    { method: 'GET' as const, url: '/api/clients' },
    { method: 'POST' as const, url: '/api/dispatch', body: { client_id: 'd', request: 'r' } },
    { method: 'GET' as const, url: '/api/task_result/x' },
    { method: 'GET' as const, url: '/api/health' }
  ]
  for (const route of routes) {
    const missing = await app.inject(route)
    t.equal(missing.statusCode, 401, `${route.url}: missing key`)
    t.match(missing.json(), { statusCode: 401, error: 'Unauthorized', code: 'AIP_ERR_FASTIFY_MISSING_API_KEY', message: 'Missing X-API-Key header' })
    const wrong = await app.inject({ ...route, headers: { 'x-api-key': 'nope' } })
    t.equal(wrong.statusCode, 401, `${route.url}: wrong key`)
    t.match(wrong.json(), { code: 'AIP_ERR_FASTIFY_INVALID_API_KEY', message: 'Invalid API key' })
  }
  const live = await app.inject({ method: 'GET', url: '/api/live' })
  t.equal(live.statusCode, 200, 'the liveness route needs no key')
  t.same(live.json(), { status: 'ok' })
})

test('GET /api/clients and /api/health list the online clients', async (t) => {
  const app = await buildApp(t, { apiKey: API_KEY })
  const empty = await app.inject({ method: 'GET', url: '/api/clients', headers })
  t.same(empty.json(), { online_clients: [], clients: [] })
  await injectedDevice(t, app, '/ws', 'dev-h')
  const clients = await app.inject({ method: 'GET', url: '/api/clients', headers })
  t.equal(clients.statusCode, 200)
  t.match(clients.json(), { online_clients: ['dev-h'], clients: [{ client_id: 'dev-h', client_type: 'device', target_id: null, platform: 'windows', registered_at: /^\d{4}-/ }] })
  const health = await app.inject({ method: 'GET', url: '/api/health', headers })
  t.same(health.json(), { status: 'healthy', online_clients: ['dev-h'] })
})

test('POST /api/dispatch sends the task and returns the session id it really runs under (B18)', async (t) => {
  const app = await buildApp(t, { apiKey: API_KEY, agent })
  const device = await injectedDevice(t, app, '/ws', 'dev4')
  echoDevice(device, 'dev4')
  const reply = await app.inject({ method: 'POST', url: '/api/dispatch', headers, body: { client_id: 'dev4', request: 'Open paint', task_name: 'paint1' } })
  t.equal(reply.statusCode, 200)
  const body = reply.json()
  t.match(body, { status: 'dispatched', task_name: 'paint1', client_id: 'dev4', session_id: /^[0-9a-f-]{36}$/ })
  const task = (await until(device, (f) => f.type === 'task')).frame
  t.match(task, { type: 'task', user_request: 'Open paint', task_name: 'paint1', session_id: body.session_id }, 'the server TASK carries it')
  const ack = (await until(device, (f) => f.type === 'heartbeat' && f.session_id !== null)).frame
  t.equal(ack.session_id, body.session_id, 'the device TASK is acked with the same session id')
  const end = (await until(device, (f) => f.type === 'task_end')).frame
  t.match(end, { status: 'completed', session_id: body.session_id })

  const result = await app.inject({ method: 'GET', url: '/api/task_result/paint1', headers })
  t.equal(result.statusCode, 200)
  t.match(result.json(), { status: 'done', task_name: 'paint1', session_id: body.session_id, client_id: 'dev4', task_status: 'completed', error: null, result: [{ request: 'Open paint' }] })
})

test('GET /api/task_result: pending while the task runs, done after, 404 for an unknown name (the reference deadlocks, B3)', async (t) => {
  const app = await buildApp(t, { apiKey: API_KEY, agent })
  const device = await injectedDevice(t, app, '/ws', 'dev5')
  const dispatched = await app.inject({ method: 'POST', url: '/api/dispatch', headers, body: { client_id: 'dev5', request: 'hold', task_name: 'long.1' } })
  const sessionId = dispatched.json().session_id
  const beforeTakeUp = await app.inject({ method: 'GET', url: '/api/task_result/long.1', headers })
  t.same(beforeTakeUp.json(), { status: 'pending', task_name: 'long.1', session_id: sessionId }, 'pending before the device takes it up')
  const task = (await until(device, (f) => f.type === 'task')).frame
  device.send({ type: 'task', status: 'continue', client_type: 'device', client_id: 'dev5', session_id: null, task_name: task.task_name, request: task.user_request })
  await until(device, (f) => f.type === 'heartbeat' && f.session_id === sessionId)
  const running = await app.inject({ method: 'GET', url: '/api/task_result/long.1', headers })
  t.same(running.json(), { status: 'pending', task_name: 'long.1', session_id: sessionId }, 'pending while it runs')
  t.ok(app.aip.sessions.cancel(sessionId), 'cancelled through the decorator')
  await until(device, (f) => f.type === 'task_end')
  const done = await app.inject({ method: 'GET', url: '/api/task_result/long.1', headers })
  t.match(done.json(), { status: 'done', task_status: 'failed', error: 'Task was cancelled: cancelled' })
  const unknown = await app.inject({ method: 'GET', url: '/api/task_result/nothing-here', headers })
  t.equal(unknown.statusCode, 404)
  t.match(unknown.json(), { statusCode: 404, code: 'AIP_ERR_FASTIFY_TASK_NOT_FOUND', message: 'No running or kept task is named nothing-here' })
})

test('POST /api/dispatch: bad input is a 400 with a clear message, an offline client a 404, never a 500', async (t) => {
  const app = await buildApp(t, { apiKey: API_KEY, agent })
  await injectedDevice(t, app, '/ws', 'dev6')
  const cases: Array<{ label: string, body?: unknown, payload?: string, status: number, message: RegExp }> = [
    { label: 'no body', status: 400, message: /Body cannot be empty/ },
    { label: 'not JSON', payload: '{"client_id":', status: 400, message: /JSON/ },
    { label: 'missing request', body: { client_id: 'dev6' }, status: 400, message: /must have required property 'request'/ },
    { label: 'empty request', body: { client_id: 'dev6', request: '' }, status: 400, message: /request must NOT have fewer than 1 characters/ },
    { label: 'empty client_id', body: { client_id: '', request: 'x' }, status: 400, message: /client_id must NOT have fewer than 1 characters/ },
    { label: 'client_id not a string', body: { client_id: { id: 7 }, request: 'x' }, status: 400, message: /client_id must be string/ },
    { label: 'unsafe task_name', body: { client_id: 'dev6', request: 'x', task_name: '../etc/passwd' }, status: 400, message: /task_name must match pattern/ },
    { label: 'task_name ..', body: { client_id: 'dev6', request: 'x', task_name: '..' }, status: 400, message: /task_name must match pattern/ },
    { label: 'offline client', body: { client_id: 'ghost', request: 'x' }, status: 404, message: /^Client ghost is not connected as a device$/ }
  ]
  for (const c of cases) {
    const reply = await app.inject({
      method: 'POST',
      url: '/api/dispatch',
      headers: { ...headers, 'content-type': 'application/json' },
      ...(c.payload !== undefined ? { payload: c.payload } : c.body !== undefined ? { body: c.body as object } : {})
    })
    t.equal(reply.statusCode, c.status, `${c.label}: ${c.status}`)
    t.match(reply.json().message, c.message, `${c.label}: ${reply.json().message}`)
  }
  const longName = await app.inject({ method: 'GET', url: `/api/task_result/${'x'.repeat(300)}`, headers })
  t.equal(longName.statusCode, 414, 'a task name longer than Fastify\'s maxParamLength: 414, not a 500')
})

test('without apiKey the HTTP API is not registered; http: false registers no route at all', async (t) => {
  const noKey = await buildApp(t, {})
  t.equal((await noKey.inject({ method: 'GET', url: '/api/clients' })).statusCode, 404, 'no API without a key')
  t.equal((await noKey.inject({ method: 'GET', url: '/api/live' })).statusCode, 200, 'liveness still served')
  const off = await buildApp(t, { apiKey: API_KEY, http: false })
  t.equal((await off.inject({ method: 'GET', url: '/api/health', headers })).statusCode, 404)
  t.equal((await off.inject({ method: 'GET', url: '/api/live' })).statusCode, 404)
  const custom = await buildApp(t, { apiKey: API_KEY, prefix: '/aip/', liveness: '/healthz' })
  t.equal((await custom.inject({ method: 'GET', url: '/aip/health', headers })).statusCode, 200, 'custom prefix')
  t.equal((await custom.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'custom liveness path')
  const noLive = await buildApp(t, { apiKey: API_KEY, liveness: false })
  t.equal((await noLive.inject({ method: 'GET', url: '/api/live' })).statusCode, 404, 'liveness: false registers no liveness route')
})
