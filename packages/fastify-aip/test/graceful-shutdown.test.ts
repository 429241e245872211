import websocket from '@fastify/websocket'
import Fastify from 'fastify'
import { test } from 'tap'
import { aipPlugin, type Agent } from '../src/index.js'
import { buildApp, listen, registeredConstellation, registeredDevice, TestClient, TOKEN, until } from './helpers/harness.js'

// fastify.close() with connected devices and running tasks: requesters still connected get TASK_END failed,
// every socket is closed with 1001 and a reason, close() resolves, and nothing is left behind.

/** Waits for the results of a command the device never answers, until the task is cancelled. */
const waitingAgent: Agent = async (_task, context) => {
  await context.execute([{ tool_name: 'click', parameters: { x: 1 }, tool_type: 'action' }])
  return { status: 'completed' }
}

const task = (clientId: string, target: string, sessionId: string): Record<string, unknown> => ({
  type: 'task', status: 'continue', client_type: 'constellation', client_id: clientId, target_id: target, session_id: sessionId, task_name: 'shut', request: 'click'
})

for (const ownWebsocket of [false, true]) {
  test(`close() mid-task ${ownWebsocket ? 'when the app registered @fastify/websocket itself' : 'with the plugin\'s own @fastify/websocket'}`, async (t) => {
    const app = Fastify()
    if (ownWebsocket) await app.register(websocket)
    await app.register(aipPlugin, { agent: waitingAgent, token: TOKEN, pingIntervalMs: 0 })
    const { ws } = await listen(app)
    const url = `${ws}/ws?token=${TOKEN}`
    const device = await registeredDevice(t, url, 'shut-dev')
    const galaxy = await registeredConstellation(t, url, 'shut-galaxy', 'shut-dev')
    t.match(await galaxy.ask(task('shut-galaxy', 'shut-dev', 'shut@1')), { type: 'heartbeat', session_id: 'shut@1' })
    t.match(await device.next(), { type: 'command', session_id: 'shut@1' }, 'the task waits on its command')
    const dispatched = app.aip.tasks.dispatch('shut-dev', 'never taken up', { taskName: 'http-shut' })
    t.match(await device.next(), { type: 'task', task_name: 'http-shut' })
    t.equal(app.aip.sessions.list().length, 1, 'one running session')
    const changes: string[] = []
    app.aip.sessions.on('change', (change) => changes.push(change.type))

    await app.close()
    t.pass('close() resolved with devices connected and a task running')

    const end = (await until(galaxy, (f) => f.type === 'task_end')).frame
    t.match(end, { type: 'task_end', status: 'failed', session_id: 'shut@1', error: 'The server is shutting down' }, 'the requester got TASK_END failed')
    t.match((await until(device, (f) => f.type === 'task_end')).frame, { status: 'failed', session_id: 'shut@1' }, 'the device got its copy')
    t.same(await device.closed, { code: 1001, reason: 'The server is shutting down' }, 'device closed with going away')
    t.same(await galaxy.closed, { code: 1001, reason: 'The server is shutting down' }, 'constellation closed with going away')
    await t.rejects(dispatched, { code: 'AIP_ERR_FASTIFY_SERVER_CLOSING' }, 'a dispatched task never taken up rejects')
    t.same(changes, ['ended'], 'the session change stream saw the end')
    t.equal(app.aip.connectionCount, 0, 'no connection left')
    t.equal(app.aip.sessions.list().length, 0, 'no session tracked')
    t.equal(app.aip.options.results.size, 0, 'kept results cleared onClose')
    await t.rejects(app.aip.tasks.dispatch('shut-dev', 'late'), { code: 'AIP_ERR_FASTIFY_SERVER_CLOSING' })
  })
}

test('an agent that ignores cancellation cannot hold close() beyond closeTimeoutMs', async (t) => {
  let release!: () => void
  const stubborn: Agent = async () => {
    await new Promise<void>((resolve) => { release = resolve })
    return { status: 'completed' }
  }
  t.teardown(() => release?.())
  const app = await buildApp(t, { agent: stubborn, closeTimeoutMs: 100 })
  const { ws } = await listen(app)
  const device = await registeredDevice(t, `${ws}/ws`, 'stub-dev')
  t.match(await device.ask({ type: 'task', status: 'continue', client_type: 'device', client_id: 'stub-dev', request: 'x' }), { type: 'heartbeat' })
  const started = Date.now()
  await app.close()
  t.ok(Date.now() - started < 2000, 'close() resolved after the close timeout')
  t.equal((await device.closed).code, 1001, 'the socket was closed with going away anyway')
})

test('upgrades while close() waits for running tasks are refused (Fastify answers 503)', async (t) => {
  let release!: () => void
  const stubborn: Agent = async () => {
    await new Promise<void>((resolve) => { release = resolve })
    return { status: 'completed' }
  }
  const app = await buildApp(t, { agent: stubborn })
  const { ws } = await listen(app)
  const device = await registeredDevice(t, `${ws}/ws`, 'late-dev')
  t.match(await device.ask({ type: 'task', status: 'continue', client_type: 'device', client_id: 'late-dev', request: 'x' }), { type: 'heartbeat' })
  const closing = app.close()
  await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal(await TestClient.refusedStatus(`${ws}/ws`), 503, 'refused while closing')
  release()
  await closing
  t.equal((await device.closed).code, 1001)
})
