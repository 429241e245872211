import { test } from 'tap'
import type { Agent, TaskRecord } from '../src/index.js'
import { API_KEY, buildApp, injectedDevice, until } from './helpers/harness.js'

const headers = { 'x-api-key': API_KEY }

/** Runs one COMMAND and completes (the device under test never answers it, so the task runs until cancelled). */
const agent: Agent = async (_task, context) => {
  await context.execute([{ tool_name: 'click', parameters: {}, tool_type: 'action' }])
  return { status: 'completed' }
}

test('POST /api/tasks/:sessionId/cancel cancels a running task: 202, then TASK_END failed; 409 once ended, 404 when unknown', async (t) => {
  const app = await buildApp(t, { apiKey: API_KEY, agent })
  const device = await injectedDevice(t, app, '/ws', 'dev1')
  device.send({ type: 'task', status: 'continue', client_type: 'device', client_id: 'dev1', session_id: 'own@1', request: 'work' })
  await until(device, (f) => f.type === 'command')
  const ended = new Promise<TaskRecord>((resolve) => app.aip.on('taskEnd', resolve))

  const reply = await app.inject({ method: 'POST', url: '/api/tasks/own@1/cancel', headers, body: { reason: 'operator stop' } })
  t.equal(reply.statusCode, 202)
  t.same(reply.json(), { status: 'cancelling', session_id: 'own@1' })
  t.match(await ended, { sessionId: 'own@1', status: 'failed', error: 'Task was cancelled: operator stop' })
  t.match((await until(device, (f) => f.type === 'task_end')).frame, { session_id: 'own@1', status: 'failed' }, 'the device is told')

  const again = await app.inject({ method: 'POST', url: '/api/tasks/own@1/cancel', headers })
  t.equal(again.statusCode, 409)
  t.match(again.json(), { code: 'AIP_ERR_FASTIFY_TASK_ENDED' })
  const unknown = await app.inject({ method: 'POST', url: '/api/tasks/nope/cancel', headers })
  t.equal(unknown.statusCode, 404)
  t.match(unknown.json(), { code: 'AIP_ERR_FASTIFY_SESSION_NOT_FOUND' })
})

test('the cancel route is behind the API key', async (t) => {
  const app = await buildApp(t, { apiKey: API_KEY, agent })
  const missing = await app.inject({ method: 'POST', url: '/api/tasks/x/cancel' })
  t.equal(missing.statusCode, 401)
  const wrong = await app.inject({ method: 'POST', url: '/api/tasks/x/cancel', headers: { 'x-api-key': 'wrong' } })
  t.equal(wrong.statusCode, 401)
})

test('tasks.cancel of a dispatched task: a running one resolves failed; one not taken up rejects with AIP_ERR_FASTIFY_TASK_CANCELLED', async (t) => {
  const app = await buildApp(t, { apiKey: API_KEY, agent })
  const device = await injectedDevice(t, app, '/ws', 'dev2')
  const waiting = await app.aip.tasks.start('dev2', 'not taken up')
  await until(device, (f) => f.type === 'task' && f.session_id === waiting.sessionId)
  app.aip.tasks.cancel(waiting.sessionId)
  await t.rejects(waiting.done, { code: 'AIP_ERR_FASTIFY_TASK_CANCELLED' })

  const running = await app.aip.tasks.start('dev2', 'taken up', { taskName: 'run' })
  await until(device, (f) => f.type === 'task' && f.session_id === running.sessionId)
  device.send({ type: 'task', status: 'continue', client_type: 'device', client_id: 'dev2', session_id: running.sessionId, task_name: 'run', request: 'taken up' })
  await until(device, (f) => f.type === 'command')
  app.aip.tasks.cancel(running.sessionId, 'no longer needed')
  t.match(await running.done, { status: 'failed', error: 'Task was cancelled: no longer needed' })
  t.throws(() => app.aip.tasks.cancel(''), { code: 'AIP_ERR_FASTIFY_INVALID_TASK' })
})
