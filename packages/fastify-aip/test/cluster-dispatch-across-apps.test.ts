import { test } from 'tap'
import { InMemoryClusterHub } from '@aip/device-server'
import { API_KEY, buildApp, echoDevice, injectedDevice, until } from './helpers/harness.js'

const headers = { 'x-api-key': API_KEY }

test('POST /api/dispatch on app B runs the task on a device connected to app A; task_result on B answers', async (t) => {
  const hub = new InMemoryClusterHub()
  const a = await buildApp(t, { apiKey: API_KEY, cluster: hub.link('node-a') })
  const b = await buildApp(t, { apiKey: API_KEY, cluster: hub.link('node-b') })
  const device = await injectedDevice(t, a, '/ws', 'dev-a')
  echoDevice(device, 'dev-a')
  const reply = await b.inject({ method: 'POST', url: '/api/dispatch', headers, payload: { client_id: 'dev-a', request: 'open notepad', task_name: 'notepad' } })
  t.equal(reply.statusCode, 200)
  const { session_id: sessionId, ...rest } = reply.json()
  t.same(rest, { status: 'dispatched', task_name: 'notepad', client_id: 'dev-a' })
  t.match(await until(device, (f) => f.type === 'task_end'), { frame: { status: 'completed', session_id: sessionId } }, 'it ran on A')
  let result: Record<string, any> = {}
  for (let i = 0; i < 200 && result.status !== 'done'; i++) {
    result = (await b.inject({ url: `/api/task_result/notepad?session_id=${sessionId as string}`, headers })).json()
    if (result.status !== 'done') await new Promise((resolve) => setImmediate(resolve))
  }
  t.match(result, { status: 'done', task_name: 'notepad', session_id: sessionId, client_id: 'dev-a', task_status: 'completed', error: null })
  t.match((await b.inject({ url: '/api/task_result/notepad', headers })).json(), { status: 'done', session_id: sessionId }, 'by name among the tasks dispatched on B')
  t.match((await a.inject({ url: `/api/task_result/notepad?session_id=${sessionId as string}`, headers })).json(), { status: 'done', session_id: sessionId }, 'and on A, from its own store')

  const record = await b.aip.tasks.dispatch('dev-a', 'from a route of B')
  t.match(record, { status: 'completed', deviceId: 'dev-a', request: 'from a route of B' }, 'fastify.aip.tasks on B reaches the device of A too')
})

test('task_result on B says pending while the task runs on A; tasks.cancel on B ends it there', async (t) => {
  const hub = new InMemoryClusterHub()
  const a = await buildApp(t, { apiKey: API_KEY, cluster: hub.link('node-a') })
  const b = await buildApp(t, { apiKey: API_KEY, cluster: hub.link('node-b') })
  // A device that takes server TASKs up but never answers a COMMAND.
  const device = await injectedDevice(t, a, '/ws', 'dev-hold')
  const started = await b.aip.tasks.start('dev-hold', 'hold', { taskName: 'held' })
  const serverTask = await device.next()
  device.send({ type: 'task', status: 'continue', client_type: 'device', client_id: 'dev-hold', session_id: null, task_name: serverTask.task_name, request: serverTask.user_request })
  await until(device, (f) => f.type === 'command')
  t.same((await b.inject({ url: '/api/task_result/held', headers })).json(), { status: 'pending', task_name: 'held', session_id: started.sessionId })
  b.aip.tasks.cancel(started.sessionId, 'no longer needed')
  t.match(await started.done, { status: 'failed', error: 'Task was cancelled: no longer needed' })
  t.throws(() => b.aip.tasks.cancel(started.sessionId), { code: 'AIP_ERR_FASTIFY_TASK_ENDED' }, 'ended, as known on B')
})

test('fastify.aip.sessions.listClusterWide lists the sessions of both nodes with their node; list() stays local', async (t) => {
  const hub = new InMemoryClusterHub()
  const a = await buildApp(t, { apiKey: API_KEY, cluster: hub.link('node-a') })
  const b = await buildApp(t, { apiKey: API_KEY, cluster: hub.link('node-b') })
  const onA = await injectedDevice(t, a, '/ws', 'dev-on-a')
  const onB = await injectedDevice(t, b, '/ws', 'dev-on-b')
  for (const [app, device, id] of [[a, onA, 'dev-on-a'], [b, onB, 'dev-on-b']] as const) {
    const held = await app.aip.tasks.start(id, 'hold')
    // Ended by the apps' close: its rejection is expected.
    held.done.catch(() => {})
    const serverTask = await device.next()
    device.send({ type: 'task', status: 'continue', client_type: 'device', client_id: id, session_id: null, task_name: serverTask.task_name, request: serverTask.user_request })
    await until(device, (f) => f.type === 'command')
  }
  const listed = await b.aip.sessions.listClusterWide()
  t.same(listed.map((s) => [s.deviceId, s.nodeId, s.status]).sort(), [['dev-on-a', 'node-a', 'running'], ['dev-on-b', 'node-b', 'running']])
  t.same(b.aip.sessions.list().map((s) => s.deviceId), ['dev-on-b'], 'list() is this node\'s')

  hub.setAvailable(false)
  await t.rejects(b.aip.sessions.listClusterWide(), { code: 'AIP_ERR_CLUSTER_UNAVAILABLE' })
})

test('without a cluster, listClusterWide lists this server\'s sessions as node local', async (t) => {
  const app = await buildApp(t, { apiKey: API_KEY })
  const device = await injectedDevice(t, app, '/ws', 'dev-1')
  const held = await app.aip.tasks.start('dev-1', 'hold')
  // Ended by the app's close: its rejection is expected.
  held.done.catch(() => {})
  const serverTask = await device.next()
  device.send({ type: 'task', status: 'continue', client_type: 'device', client_id: 'dev-1', session_id: null, task_name: serverTask.task_name, request: serverTask.user_request })
  await until(device, (f) => f.type === 'command')
  t.match(await app.aip.sessions.listClusterWide(), [{ status: 'running', deviceId: 'dev-1', nodeId: 'local' }])
})
