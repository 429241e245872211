import { test } from 'tap'
import type { Agent, TaskRecord } from '../src/index.js'
import { sameAsReference } from '@aip/test-support'
import { echoDevice, registeredConstellation, registeredDevice, startServer, until } from './helpers/harness.js'
import { frameObject, line } from '@aip/test-support'

// S3, S4, S5: when either side of a task goes away, the task ends at once, the other side is told, and nothing
// is left waiting.

/** Runs `steps` COMMANDs of one screenshot each. */
function stepsAgent (steps: number): Agent {
  return async (_task, context) => {
    for (let step = 0; step < steps; step++) {
      await context.execute([{ tool_name: 'get_screenshot', parameters: { step }, tool_type: 'data_collection' }])
    }
    return { status: 'completed' }
  }
}

test('S3: the device dies mid-task: the constellation gets TASK_END failed with the partial results', async (t) => {
  const { wsUrl, endpoint } = await startServer(t, { agent: stepsAgent(2) })
  const device = await registeredDevice(t, wsUrl, 'dev1')
  const galaxy = await registeredConstellation(t, wsUrl, 'galaxy_task@dev1', 'dev1')
  galaxy.send({ type: 'task', status: 'continue', client_type: 'constellation', client_id: 'galaxy_task@dev1', target_id: 'dev1', session_id: 'galaxy_task@t1', request: 'Open Notepad' })
  t.equal((await galaxy.next()).session_id, 'galaxy_task@t1', 'acked')
  const first = (await until(device, (f) => f.type === 'command')).frame
  device.send({ type: 'command_results', status: 'continue', client_id: 'dev1', session_id: first.session_id, prev_response_id: first.response_id, action_results: [{ status: 'success', result: 'shot', call_id: first.actions[0].call_id }] })
  await until(device, (f) => f.type === 'command')
  const ended = new Promise<TaskRecord>((resolve) => endpoint.on('taskEnd', resolve))
  device.ws.terminate()
  const end = await galaxy.next()
  sameAsReference(t, end, {
    ...frameObject(line('s3-device-dies-mid-task.jsonl', 14)),
    result: [{ request: 'Open Notepad', result: [{ status: 'success', error: null, result: 'shot', namespace: null, call_id: first.actions[0].call_id }] }]
  }, 'TASK_END failed')
  t.equal(end.error, 'Task was cancelled because target device disconnected')
  t.equal((await ended).status, 'failed')
  t.equal(endpoint.sessionCount, 0, 'no session left')
})

test('S4: the constellation quits mid-task: the session is cancelled and the device is told (B4)', async (t) => {
  const { wsUrl, endpoint } = await startServer(t, { agent: stepsAgent(3) })
  const device = await registeredDevice(t, wsUrl, 'dev2')
  const galaxy = await registeredConstellation(t, wsUrl, 'g2@dev2', 'dev2')
  galaxy.send({ type: 'task', status: 'continue', client_type: 'constellation', client_id: 'g2@dev2', target_id: 'dev2', session_id: 'g2@t1', request: 'Open Notepad' })
  await galaxy.next()
  await until(device, (f) => f.type === 'command')
  const ended = new Promise<TaskRecord>((resolve) => endpoint.on('taskEnd', resolve))
  galaxy.ws.terminate()
  const notice = (await until(device, (f) => f.type === 'task_end')).frame
  t.equal(notice.status, 'failed')
  t.equal(notice.session_id, 'g2@t1', 'the notice names the session, so a Python device only logs it')
  t.equal(notice.error, 'Task was cancelled because the requester disconnected')
  const record = await ended
  t.equal(record.status, 'failed')
  t.equal(endpoint.sessionCount, 0)
  t.equal(endpoint.getResult('g2@t1')?.error, 'Task was cancelled because the requester disconnected', 'the result is kept and readable')
})

test('S5: a device dies during its own task: the session is cancelled at once, not orphaned (B2)', async (t) => {
  const { wsUrl, endpoint } = await startServer(t, { agent: stepsAgent(2) })
  const device = await registeredDevice(t, wsUrl, 'dev3')
  echoDevice(device, 'dev3')
  const started = new Promise<string>((resolve) => endpoint.on('sessionStarted', (s) => resolve(s.sessionId)))
  device.send(frameObject(line('s5-device-task-orphaned.jsonl', 3)))
  const ack = await device.next()
  t.equal(ack.type, 'heartbeat')
  t.match(ack.session_id, /^[0-9a-f-]{36}$/, 'the server generates the session id')
  t.equal(await started, ack.session_id)
  await until(device, (f) => f.type === 'command')
  // Stop answering: terminate on the second COMMAND, as the captured device did.
  device.ws.removeAllListeners('message')
  const ended = new Promise<TaskRecord>((resolve) => endpoint.on('taskEnd', resolve))
  device.ws.terminate()
  const record = await ended
  t.equal(record.status, 'failed')
  t.equal(record.error, 'Task was cancelled because target device disconnected')
  t.equal(endpoint.sessionCount, 0)
})

test('S7: a binary frame gets an ERROR and a close 1003 instead of a silent drop (B17)', async (t) => {
  const { wsUrl } = await startServer(t)
  const client = await registeredDevice(t, wsUrl, 'binDev')
  client.ws.send(Buffer.from('{"type": "heartbeat", "status": "ok"}'), { binary: true })
  const answer = await client.next()
  t.equal(answer.type, 'error')
  t.equal(answer.error, 'Binary frames are not accepted outside a file transfer')
  t.equal((await client.closed).code, 1003)
})

test('S7: a second REGISTER is refused as the reference refuses it, and the connection stays registered', async (t) => {
  const { wsUrl } = await startServer(t)
  const client = await registeredDevice(t, wsUrl, 'rr')
  const answer = await client.ask({ type: 'register', status: 'ok', client_id: 'rr' })
  sameAsReference(t, answer, frameObject(line('s7-binary-reregister-dup-session.jsonl', 7)), 'second REGISTER')
  t.equal((await client.ask({ type: 'heartbeat', status: 'ok', client_id: 'rr' })).status, 'ok')
})

test('S7: one session id sent twice never runs twice (B7)', async (t) => {
  const { wsUrl, endpoint } = await startServer(t, { agent: stepsAgent(1) })
  const client = await registeredDevice(t, wsUrl, 'rr')
  const task = { type: 'task', status: 'continue', client_id: 'rr', session_id: 'S1', request: 'x' }
  client.send(task)
  client.send(task)
  const frames = [await client.next(), await client.next(), await client.next()]
  const acks = frames.filter((f) => f.type === 'heartbeat')
  const errors = frames.filter((f) => f.type === 'error')
  const commands = frames.filter((f) => f.type === 'command')
  t.equal(acks.length, 1, 'one ack')
  t.equal(commands.length, 1, 'one COMMAND step 0')
  t.same(errors.map((e) => [e.error, e.session_id]), [["session_id 'S1' is already running", 'S1']], 'the second TASK is refused, with its session id')
  t.equal(endpoint.sessionCount, 1)
  const command = commands[0] as Record<string, any>
  const ended = new Promise<TaskRecord>((resolve) => endpoint.on('taskEnd', resolve))
  client.send({ type: 'command_results', status: 'continue', client_id: 'rr', session_id: 'S1', prev_response_id: command.response_id, action_results: [{ status: 'success', call_id: command.actions[0].call_id }] })
  t.equal((await ended).status, 'completed')
  const end = (await until(client, (f) => f.type === 'task_end')).frame
  t.same([end.session_id, end.status], ['S1', 'completed'], 'a single TASK_END to the device that asked')
  const reuse = await client.ask(task)
  t.same([reuse.type, reuse.error], ['error', "session_id 'S1' has already been used"], 'a finished session id is not run again')
})
