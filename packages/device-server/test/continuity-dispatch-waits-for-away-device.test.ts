import { test } from 'tap'
import { TestClient, startServer } from './helpers/harness.js'
import { continuityDevice, dropConnection, results, stepsAgent } from './helpers/continuity.js'

/** The device's own TASK for a server TASK (what `aip device` sends back). */
function takeUp (clientId: string, serverTask: Record<string, any>): Record<string, unknown> {
  return { type: 'task', status: 'continue', client_type: 'device', client_id: clientId, session_id: serverTask.session_id, task_name: serverTask.task_name, request: serverTask.user_request }
}

test('dispatch() to a device away inside its resume window is held and sent when the device resumes', async (t) => {
  const { wsUrl, endpoint } = await startServer(t, { agent: stepsAgent(1), resumeWindowMs: 60_000 })
  const first = await TestClient.connect(t, wsUrl)
  await first.ask(continuityDevice('dev-d'))
  await dropConnection(endpoint, first)

  const dispatched = await endpoint.dispatch('dev-d', 'Open Notepad', { taskName: 'held' })
  t.equal(endpoint.clientActivity('dev-d')?.pendingTasks, 1, 'waiting for the device')

  const second = await TestClient.connect(t, wsUrl)
  t.match((await second.ask(continuityDevice('dev-d'))).aip, { resumed: true })
  const serverTask = await second.next()
  t.match(serverTask, { type: 'task', session_id: dispatched.sessionId, task_name: 'held', user_request: 'Open Notepad' })
  t.match(await second.ask(takeUp('dev-d', serverTask)), { type: 'heartbeat', status: 'ok', session_id: dispatched.sessionId })
  const command = await second.next()
  second.send(results('dev-d', command))
  t.match(await dispatched.done, { sessionId: dispatched.sessionId, status: 'completed' })
})

test('a server TASK lost with a dropped connection is sent again when the device resumes', async (t) => {
  const { wsUrl, endpoint } = await startServer(t, { agent: stepsAgent(1), resumeWindowMs: 60_000 })
  const first = await TestClient.connect(t, wsUrl)
  await first.ask(continuityDevice('dev-e'))
  const dispatched = await endpoint.dispatch('dev-e', 'Open Paint')
  t.match(await first.next(), { type: 'task', session_id: dispatched.sessionId }, 'sent, but the device drops before taking it up')
  await dropConnection(endpoint, first)

  const second = await TestClient.connect(t, wsUrl)
  await second.ask(continuityDevice('dev-e'))
  const again = await second.next()
  t.match(again, { type: 'task', session_id: dispatched.sessionId, user_request: 'Open Paint' })
  await second.ask(takeUp('dev-e', again))
  second.send(results('dev-e', await second.next()))
  t.match(await dispatched.done, { status: 'completed' })
})

test('a dispatch held for an away device that never comes back rejects at the end of its resume window', async (t) => {
  const { wsUrl, endpoint } = await startServer(t, { agent: stepsAgent(1), resumeWindowMs: 100 })
  const first = await TestClient.connect(t, wsUrl)
  await first.ask(continuityDevice('dev-f'))
  await dropConnection(endpoint, first)
  const dispatched = await endpoint.dispatch('dev-f', 'Open Paint')
  await t.rejects(dispatched.done, { code: 'AIP_ERR_SERVER_CLIENT_NOT_CONNECTED' })
  t.equal(endpoint.clientActivity('dev-f'), undefined, 'gone')
})

test('dispatch() to an unknown device still fails at once', async (t) => {
  const { endpoint } = await startServer(t, { agent: stepsAgent(1), resumeWindowMs: 60_000 })
  await t.rejects(endpoint.dispatch('nobody', 'Open Paint'), { code: 'AIP_ERR_SERVER_CLIENT_NOT_CONNECTED' })
})
