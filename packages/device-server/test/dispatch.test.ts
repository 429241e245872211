import { test } from 'tap'
import { Texts } from '../src/internal.js'
import { echoDevice, registeredConstellation, registeredDevice, startServer, until, type TestClient } from './helpers/harness.js'

/** The TASK a Python device sends when it gets a server TASK: its own, without a session id. */
function pythonTask (clientId: string, serverTask: Record<string, any>): Record<string, unknown> {
  return {
    type: 'task',
    status: 'continue',
    client_type: 'device',
    client_id: clientId,
    session_id: null,
    task_name: serverTask.task_name,
    request: serverTask.user_request,
    request_id: 'py-request-1'
  }
}

async function answerServerTask (device: TestClient, clientId: string): Promise<{ serverTask: Record<string, any>, ack: Record<string, any> }> {
  const serverTask = await device.next()
  const ack = await device.ask(pythonTask(clientId, serverTask))
  return { serverTask, ack }
}

test('dispatch sends a server TASK; the Python device answers with its own TASK, which runs under the returned session id', async (t) => {
  const { wsUrl, endpoint } = await startServer(t)
  const device = await registeredDevice(t, wsUrl, 'py-dev')
  echoDevice(device, 'py-dev')

  const dispatched = await endpoint.dispatch('py-dev', 'open notepad', { taskName: 'notepad task' })
  t.match(dispatched, { sessionId: String, taskName: 'notepad_task' }, 'the task name is sanitised')
  const S = dispatched.sessionId

  const { serverTask, ack } = await answerServerTask(device, 'py-dev')
  t.match(serverTask, { type: 'task', status: 'continue', user_request: 'open notepad', session_id: S, task_name: 'notepad_task' }, 'the server TASK')
  t.match(ack, { type: 'heartbeat', status: 'ok', session_id: S }, 'the ack carries the dispatched session id (not a fresh one, B18)')

  const command = await device.next()
  t.match(command, { type: 'command', status: 'continue', session_id: S, task_name: 'notepad_task' })
  const { frame: end, skipped } = await until(device, (frame) => frame.type === 'task_end')
  t.same(skipped, [], 'one COMMAND, then the TASK_END')
  t.match(end, { type: 'task_end', status: 'completed', session_id: S, error: null })

  const record = await dispatched.done
  t.match(record, { sessionId: S, taskName: 'notepad_task', requesterId: 'py-dev', deviceId: 'py-dev', request: 'open notepad', status: 'completed', error: null })
  t.equal(endpoint.getResult(S), record, 'the record is readable by the same session id')
  t.equal(endpoint.getResultByTaskName('notepad task'), record, 'and by the task name')
  t.equal(endpoint.sessionCount, 0)
})

test('a device that echoes the session id is bound to the dispatch as well', async (t) => {
  const { wsUrl, endpoint } = await startServer(t)
  const device = await registeredDevice(t, wsUrl, 'ts-dev')
  echoDevice(device, 'ts-dev')
  const dispatched = await endpoint.dispatch('ts-dev', 'list tools')
  t.equal(dispatched.taskName, dispatched.sessionId, 'without a task name, the session id names the task')
  const serverTask = await device.next()
  const ack = await device.ask({ ...pythonTask('ts-dev', serverTask), session_id: serverTask.session_id })
  t.match(ack, { type: 'heartbeat', status: 'ok', session_id: dispatched.sessionId })
  t.match(await dispatched.done, { sessionId: dispatched.sessionId, status: 'completed', taskName: dispatched.taskName })
})

test('dispatch to a client that is not a connected device rejects AIP_ERR_SERVER_CLIENT_NOT_CONNECTED', async (t) => {
  const { wsUrl, endpoint } = await startServer(t)
  await t.rejects(endpoint.dispatch('nobody', 'x'), { code: 'AIP_ERR_SERVER_CLIENT_NOT_CONNECTED', message: 'Client nobody is not connected' })
  await registeredDevice(t, wsUrl, 'dev')
  await registeredConstellation(t, wsUrl, 'galaxy', 'dev')
  await t.rejects(endpoint.dispatch('galaxy', 'x'), { code: 'AIP_ERR_SERVER_CLIENT_NOT_CONNECTED' }, 'a constellation is not a device')
})

test('timeoutMs cancels a dispatched task whose commands are never answered', async (t) => {
  const { wsUrl, endpoint } = await startServer(t)
  const device = await registeredDevice(t, wsUrl, 'slow-dev')
  const dispatched = await endpoint.dispatch('slow-dev', 'hang', { taskName: 'hang', timeoutMs: 100 })
  const { ack } = await answerServerTask(device, 'slow-dev')
  t.match(ack, { session_id: dispatched.sessionId })
  t.match(await device.next(), { type: 'command', session_id: dispatched.sessionId }, 'a COMMAND nobody answers')
  await t.rejects(dispatched.done, { code: 'AIP_ERR_SERVER_SESSION_CANCELLED', message: /timed out/ }, 'done rejects at the timeout')
  const end = await device.next()
  t.match(end, { type: 'task_end', status: 'failed', session_id: dispatched.sessionId, error: Texts.taskCancelled('timed out') }, 'the device is told')
  t.equal(endpoint.sessionCount, 0)
  t.match(endpoint.getResult(dispatched.sessionId), { status: 'failed' })
})

test('timeoutMs also rejects a dispatch the device never takes up', async (t) => {
  const { wsUrl, endpoint } = await startServer(t)
  const device = await registeredDevice(t, wsUrl, 'deaf-dev')
  const dispatched = await endpoint.dispatch('deaf-dev', 'ignored', { timeoutMs: 50 })
  t.match(await device.next(), { type: 'task', session_id: dispatched.sessionId })
  await t.rejects(dispatched.done, { code: 'AIP_ERR_SERVER_SESSION_CANCELLED' })
  t.equal(endpoint.sessionCount, 0)
})

test('an AbortSignal cancels a dispatched task', async (t) => {
  const { wsUrl, endpoint } = await startServer(t)
  const device = await registeredDevice(t, wsUrl, 'abort-dev')
  const controller = new AbortController()
  const dispatched = await endpoint.dispatch('abort-dev', 'hang', { taskName: 'abortable', signal: controller.signal })
  await answerServerTask(device, 'abort-dev')
  t.match(await device.next(), { type: 'command', session_id: dispatched.sessionId })
  controller.abort()
  await t.rejects(dispatched.done, { code: 'AIP_ERR_SERVER_SESSION_CANCELLED' })
  t.match(await device.next(), { type: 'task_end', status: 'failed', session_id: dispatched.sessionId })
  t.equal(endpoint.sessionCount, 0)
})

test('an AbortSignal aborted before the device takes the task up rejects, and so does one aborted already', async (t) => {
  const { wsUrl, endpoint } = await startServer(t)
  const device = await registeredDevice(t, wsUrl, 'early-dev')
  const controller = new AbortController()
  const pending = await endpoint.dispatch('early-dev', 'x', { signal: controller.signal })
  controller.abort()
  await t.rejects(pending.done, { code: 'AIP_ERR_SERVER_SESSION_CANCELLED' }, 'aborted while waiting for the device')

  const aborted = AbortSignal.abort()
  await t.rejects(
    (async () => await (await endpoint.dispatch('early-dev', 'y', { signal: aborted })).done)(),
    { name: 'AbortError' },
    'an aborted signal is refused at once'
  )
  t.match(await device.next(), { type: 'task', session_id: pending.sessionId })
  t.same(device.frames, [], 'no TASK was sent for the already aborted dispatch')
})

test('a dispatch rejects when its device disconnects', async (t) => {
  const { wsUrl, endpoint } = await startServer(t)
  const device = await registeredDevice(t, wsUrl, 'gone-dev')
  const dispatched = await endpoint.dispatch('gone-dev', 'x')
  await device.next()
  device.ws.close()
  await t.rejects(dispatched.done, { code: 'AIP_ERR_SERVER_CLIENT_NOT_CONNECTED' })
})
