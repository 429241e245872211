import { test } from 'tap'
import { CLIENT_MESSAGE_FIELDS, RESULT_FIELDS } from '@aip/protocol'
import { client, nextEvent, startScripted, transcript, type WireLine } from './helpers/net.js'

function serverFrames (lines: WireLine[], conn: string): Array<Record<string, any>> {
  return lines.filter((line) => line.conn === conn && line.dir === 'server->client').map((line) => line.frame)
}

test('node1: the reference server frames (registration answer, two COMMANDs, TASK_END) replayed to our device', async (t) => {
  const lines = transcript('node1-py-device-vs-node-server.jsonl')
  const [ack, command1, command2, taskEnd] = serverFrames(lines, 'device:pydev') as Array<Record<string, any>>
  const pyResults = lines.filter((line) => line.dir === 'client->server' && line.frame.type === 'command_results').map((line) => line.frame)
  const scripted = await startScripted(t)
  const device = client(t, { wsUrl: scripted.wsUrl, clientId: 'pydev', platform: 'windows', namespace: 'stub' })
  const started = device.start()
  const peer = await scripted.connection()
  t.equal((await peer.next()).type, 'register')
  peer.send(ack)
  await started
  t.equal(device.status.kind, 'registered', 'the reference HEARTBEAT ok is the confirmation')

  for (const [command, reference] of [[command1, pyResults[0]], [command2, pyResults[1]]] as Array<[Record<string, any>, Record<string, any>]>) {
    peer.send(command)
    const results = await peer.next((frame) => frame.type === 'command_results')
    t.same(Object.keys(results), [...CLIENT_MESSAGE_FIELDS], 'COMMAND_RESULTS in the 14-field form')
    t.same(Object.keys(results), Object.keys(reference), 'the Python device key list')
    t.equal(results.status, 'continue')
    t.equal(results.session_id, command.session_id, 'session_id echoed')
    t.equal(results.prev_response_id, command.response_id, 'prev_response_id = the COMMAND response_id')
    t.equal(results.client_id, 'pydev')
    t.type(results.request_id, 'string')
    t.equal(results.action_results.length, 1, 'one Result per Command')
    const result = results.action_results[0]
    t.same(Object.keys(result), [...RESULT_FIELDS])
    t.equal(result.call_id, command.actions[0].call_id, 'call_id echoed')
    t.equal(result.status, 'success')
    t.equal(result.namespace, 'stub')
    t.same(result.result, [], 'list_tools of a device without tools')
  }
  const ended = nextEvent(device, 'taskEnd')
  peer.send(taskEnd)
  t.same(await ended, { sessionId: 'node-session-1', status: 'completed', error: null })
  t.equal(device.status.kind, 'registered', 'still connected')
})

test('s1: the device connection frames, heartbeats answered like the reference', async (t) => {
  const lines = transcript('s1-task-roundtrip.jsonl')
  const frames = serverFrames(lines, 'device:dev1')
  const [ack, command1, command2, taskEnd] = frames as Array<Record<string, any>>
  const heartbeatAcks = frames.slice(4)
  const scripted = await startScripted(t, { answerHeartbeats: false })
  const device = client(t, {
    wsUrl: scripted.wsUrl,
    clientId: 'dev1',
    heartbeatIntervalMs: 40,
    maxMissedHeartbeats: 2,
    tools: {
      get_screenshot: { toolType: 'data_collection', handler: (params) => ({ echo: 'get_screenshot', params }) },
      click_input: { handler: (params) => ({ echo: 'click_input', params }) }
    }
  })
  const started = device.start()
  const peer = await scripted.connection()
  await peer.next()
  peer.send(ack)
  await started
  for (const command of [command1, command2] as Array<Record<string, any>>) {
    peer.send(command)
    const results = await peer.next((frame) => frame.type === 'command_results')
    t.equal(results.prev_response_id, command.response_id)
    t.equal(results.session_id, 'galaxy_task@t1')
    t.same(results.action_results.map((r: Record<string, unknown>) => r.call_id), command.actions.map((a: Record<string, unknown>) => a.call_id))
    t.same(results.action_results.map((r: Record<string, unknown>) => r.status), command.actions.map(() => 'success'))
  }
  peer.send(taskEnd)
  let disconnected = false
  device.on('disconnected', () => { disconnected = true })
  for (const heartbeatAck of heartbeatAcks) {
    const heartbeat = await peer.next((frame) => frame.type === 'heartbeat')
    t.same(Object.keys(heartbeat), [...CLIENT_MESSAGE_FIELDS])
    t.match(heartbeat, { type: 'heartbeat', status: 'ok', client_type: 'device', client_id: 'dev1', session_id: null })
    peer.send(heartbeatAck)
  }
  t.notOk(disconnected, 'acked heartbeats keep the connection')
})

test('s6: a server TASK (HTTP dispatch) becomes our TASK with the request, task name and session id', async (t) => {
  const lines = transcript('s6-http-dispatch.jsonl')
  const [ack, serverTask] = serverFrames(lines, 'device:dev4') as [Record<string, any>, Record<string, any>]
  const pyTask = lines.find((line) => line.dir === 'client->server' && line.frame.type === 'task')?.frame as Record<string, any>
  const scripted = await startScripted(t)
  const device = client(t, { wsUrl: scripted.wsUrl, clientId: 'dev4', platform: 'windows' })
  const started = device.start()
  const peer = await scripted.connection()
  await peer.next()
  peer.send(ack)
  await started
  const announced = nextEvent(device, 'serverTask')
  peer.send(serverTask)
  t.same(await announced, { sessionId: serverTask.session_id, taskName: 'paint1', request: 'Open paint' })
  const task = await peer.next((frame) => frame.type === 'task')
  t.same(Object.keys(task), Object.keys(pyTask))
  t.match(task, { type: 'task', status: 'continue', client_type: 'device', client_id: 'dev4', request: 'Open paint', task_name: 'paint1' })
  t.equal(task.session_id, serverTask.session_id, 'ours echoes the server session id (the reference sends null)')
  t.same(task.metadata, pyTask.metadata, 'metadata.platform as the reference')
  t.type(task.request_id, 'string')
})
