import { test } from 'tap'
import { TaskFailedError, type Agent, type TaskRecord } from '../src/index.js'
import { echoDevice, registeredDevice, startServer, until, type TestClient } from './helpers/harness.js'

async function runTask (client: TestClient, sessionId: string, request = 'go'): Promise<Record<string, any>> {
  client.send({ type: 'task', status: 'continue', client_id: 'dev', session_id: sessionId, request })
  return (await until(client, (f) => f.type === 'task_end')).frame
}

test('a command without results within its timeout fails the task with a clear text', async (t) => {
  const agent: Agent = async (_task, context) => {
    await context.execute([{ tool_name: 'hang', tool_type: 'action' }], { timeoutMs: 50 })
    return { status: 'completed' }
  }
  const { wsUrl, endpoint } = await startServer(t, { agent })
  const device = await registeredDevice(t, wsUrl, 'dev')
  const end = await runTask(device, 's1')
  t.same([end.status, end.error], ['failed', 'A command got no results within 50 ms'])
  t.equal(endpoint.sessionCount, 0)
})

test('an agent error never leaks its text; TaskFailedError passes its message on', async (t) => {
  let fail: () => never = () => { throw new Error('secret internal path /etc/x') }
  const agent: Agent = async () => fail()
  const { wsUrl } = await startServer(t, { agent })
  const device = await registeredDevice(t, wsUrl, 'dev')
  const hidden = await runTask(device, 's1')
  t.same([hidden.status, hidden.error], ['failed', 'The agent failed while running the task'])
  fail = () => { throw new TaskFailedError('the window never opened') }
  const told = await runTask(device, 's2')
  t.same([told.status, told.error], ['failed', 'the window never opened'])
})

test('an agent outcome can carry its own result; without one the steps are the result', async (t) => {
  const agent: Agent = async (task, context) => {
    const results = await context.execute([{ tool_name: 'a', tool_type: 'action' }])
    return task.request === 'custom' ? { status: 'completed', result: { ok: results.length } } : { status: 'completed' }
  }
  const { wsUrl, endpoint } = await startServer(t, { agent })
  const device = await registeredDevice(t, wsUrl, 'dev')
  echoDevice(device, 'dev')
  t.same((await runTask(device, 's1', 'custom')).result, { ok: 1 })
  const steps = (await runTask(device, 's2', 'steps')).result
  t.equal(steps.length, 1)
  t.equal(steps[0].request, 'steps')
  t.equal(steps[0].result[0].status, 'success')
  t.equal(endpoint.getResult('s2')?.status, 'completed')
})

test('the plan agent runs a JSON command plan, or list_tools for a plain request', async (t) => {
  const { wsUrl } = await startServer(t)
  const device = await registeredDevice(t, wsUrl, 'dev')
  device.send({ type: 'task', status: 'continue', client_id: 'dev', session_id: 'p1', request: JSON.stringify([{ tool_name: 'open', parameters: { app: 'notepad' } }, { tool_name: 'read', tool_type: 'data_collection' }]) })
  const command = (await until(device, (f) => f.type === 'command')).frame
  t.same(command.actions.map((a: any) => [a.tool_name, a.parameters, a.tool_type]), [['open', { app: 'notepad' }, 'action'], ['read', {}, 'data_collection']])
  t.equal(command.agent_name, 'HostAgent')
  device.send({ type: 'command_results', status: 'continue', client_id: 'dev', session_id: 'p1', prev_response_id: command.response_id, action_results: [{ status: 'success', call_id: command.actions[0].call_id }, { status: 'failure', error: 'no such file', call_id: command.actions[1].call_id }] })
  const end = (await until(device, (f) => f.type === 'task_end')).frame
  t.same([end.status, end.error], ['failed', 'no such file'])
  device.send({ type: 'task', status: 'continue', client_id: 'dev', session_id: 'p2', request: 'Open Notepad' })
  const discover = (await until(device, (f) => f.type === 'command')).frame
  t.same(discover.actions.map((a: any) => a.tool_name), ['list_tools'])
})

test('COMMAND_RESULTS from another client, or for a COMMAND nobody waits for, are dropped', async (t) => {
  const agent: Agent = async (_task, context) => {
    await context.execute([{ tool_name: 'a', tool_type: 'action' }])
    return { status: 'completed' }
  }
  const { wsUrl, endpoint } = await startServer(t, { agent })
  const device = await registeredDevice(t, wsUrl, 'dev')
  const intruder = await registeredDevice(t, wsUrl, 'intruder')
  const done = new Promise<TaskRecord>((resolve) => endpoint.on('taskEnd', resolve))
  device.send({ type: 'task', status: 'continue', client_id: 'dev', session_id: 's1', request: 'go' })
  const command = (await until(device, (f) => f.type === 'command')).frame
  const forged = { type: 'command_results', status: 'continue', session_id: 's1', prev_response_id: command.response_id, action_results: [{ status: 'success', result: 'forged' }] }
  intruder.send({ ...forged, client_id: 'intruder' })
  device.send({ ...forged, client_id: 'dev', prev_response_id: 'unknown' })
  t.equal((await intruder.ask({ type: 'heartbeat', status: 'ok', client_id: 'intruder' })).type, 'heartbeat', 'no answer to the intruder')
  t.equal(endpoint.sessionCount, 1, 'the session still waits for its executor')
  device.send({ ...forged, client_id: 'dev', action_results: [{ status: 'success', result: 'real' }] })
  const record = await done
  t.same(record.result, [{ request: 'go', result: [{ status: 'success', error: null, result: 'real', namespace: null, call_id: null }] }])
})

test('an execute call stops waiting when its own signal aborts, and the task fails', async (t) => {
  const controller = new AbortController()
  const agent: Agent = async (_task, context) => {
    setImmediate(() => controller.abort(new Error('operator stop')))
    await context.execute([{ tool_name: 'a', tool_type: 'action' }], { signal: controller.signal })
    return { status: 'completed' }
  }
  const { wsUrl } = await startServer(t, { agent })
  const device = await registeredDevice(t, wsUrl, 'dev')
  const end = await runTask(device, 's1')
  t.equal(end.status, 'failed')
  t.match(end.error, /^Task was cancelled/)
})

test('cancelDeviceTasks ends the device\'s sessions with TASK_END failed', async (t) => {
  const agent: Agent = async (_task, context) => {
    await context.execute([{ tool_name: 'a', tool_type: 'action' }])
    return { status: 'completed' }
  }
  const { wsUrl, endpoint } = await startServer(t, { agent })
  const device = await registeredDevice(t, wsUrl, 'dev')
  device.send({ type: 'task', status: 'continue', client_id: 'dev', session_id: 's1', request: 'go' })
  await until(device, (f) => f.type === 'command')
  t.equal(endpoint.cancelDeviceTasks('dev', 'cancelled'), 1)
  const end = (await until(device, (f) => f.type === 'task_end')).frame
  t.same([end.status, end.error], ['failed', 'Task was cancelled: cancelled'])
  t.equal(endpoint.cancelSession('s1'), false, 'nothing left to cancel')
})
