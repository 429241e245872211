import { test } from 'tap'
import type { Agent } from '../src/index.js'
import { API_KEY, TOKEN, buildApp, echoDevice, listen, registeredConstellation, registeredDevice, until } from './helpers/harness.js'

// fastify.aip.drain({ deadlineMs }) before a deploy: new tasks are refused with a code, the running task ends
// normally, then every client is closed with 1012 and the reconnect hint so that it reconnects to the next server.

test('drain refuses new tasks over HTTP and WebSocket, lets the running task finish, then sends clients away', async (t) => {
  const gates: Array<() => void> = []
  const agent: Agent = async (_task, context) => {
    await context.execute([{ tool_name: 'click', parameters: {}, tool_type: 'action' }])
    await new Promise<void>((resolve) => gates.push(resolve))
    return { status: 'completed', result: 'saved' }
  }
  const app = await buildApp(t, { agent, token: TOKEN, apiKey: API_KEY, metrics: true })
  const { ws } = await listen(app)
  const url = `${ws}/ws?token=${TOKEN}`
  const device = await registeredDevice(t, url, 'deploy-dev')
  echoDevice(device, 'deploy-dev')
  const galaxy = await registeredConstellation(t, url, 'deploy-galaxy', 'deploy-dev')
  const running = await app.aip.tasks.start('deploy-dev', 'save the form', { taskName: 'save-form' })
  for (let i = 0; i < 50 && gates.length === 0; i++) await new Promise((resolve) => setImmediate(resolve))
  t.equal(gates.length, 1, 'the task runs, past its first command')

  const drained = app.aip.drain({ deadlineMs: 10_000 })
  const refused = await app.inject({ method: 'POST', url: '/api/dispatch', headers: { 'x-api-key': API_KEY }, body: { client_id: 'deploy-dev', request: 'another' } })
  t.equal(refused.statusCode, 503, 'a new task over HTTP is refused with 503')
  t.match(refused.json(), { code: 'AIP_ERR_SERVER_DRAINING' })
  const answer = await galaxy.ask({ type: 'task', status: 'continue', client_type: 'constellation', client_id: 'deploy-galaxy', target_id: 'deploy-dev', session_id: 'deploy@2', task_name: 'late', request: 'click' })
  t.match(answer, { type: 'error', session_id: 'deploy@2', error: /draining/ }, 'a new TASK over the WebSocket gets an ERROR naming the drain')
  const metrics = await app.inject({ url: '/metrics', headers: { 'x-api-key': API_KEY } })
  t.match(metrics.body, /^aip_draining 1$/m, 'the drain shows in the metrics')

  gates[0]?.()
  t.match(await running.done, { status: 'completed', result: 'saved' }, 'the running task finishes normally')
  t.same(await drained, { finished: 1, cancelled: 0 })
  t.same(await device.closed, { code: 1012, reason: 'aip-drain retry-ms=5000' }, 'the device is sent away (1012 with the reconnect hint: a free retry)')
  t.same(await galaxy.closed, { code: 1012, reason: 'aip-drain retry-ms=5000' })
  await t.rejects(app.aip.tasks.dispatch('deploy-dev', 'after'), { code: 'AIP_ERR_FASTIFY_SERVER_CLOSING' })
})

test('at the deadline the drain cancels what still runs, and the requester is told', async (t) => {
  const agent: Agent = async (_task, context) => {
    await context.execute([{ tool_name: 'click', parameters: {}, tool_type: 'action' }])
    return { status: 'completed' }
  }
  const app = await buildApp(t, { agent, token: TOKEN })
  const { ws } = await listen(app)
  const url = `${ws}/ws?token=${TOKEN}`
  const device = await registeredDevice(t, url, 'slow-dev')
  const galaxy = await registeredConstellation(t, url, 'slow-galaxy', 'slow-dev')
  await galaxy.ask({ type: 'task', status: 'continue', client_type: 'constellation', client_id: 'slow-galaxy', target_id: 'slow-dev', session_id: 'slow@1', task_name: 'slow', request: 'click' })
  t.match(await device.next(), { type: 'command' }, 'the device never answers this command')
  t.same(await app.aip.drain({ deadlineMs: 30 }), { finished: 0, cancelled: 1 })
  t.match((await until(galaxy, (f) => f.type === 'task_end')).frame, { status: 'failed', error: 'The server is shutting down' })
  await app.close()
  t.pass('the app closes after a drain')
})
