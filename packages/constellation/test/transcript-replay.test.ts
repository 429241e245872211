import { transcript } from '@aip/test-support'
import { CLIENT_MESSAGE_FIELDS } from '@aip/protocol'
import { test } from 'tap'
import { ConstellationEndpoint } from '../src/index.js'
import { scriptedServer } from './helpers.js'

interface Line { seq: number, conn: string, dir: 'client->server' | 'server->client', frame: Record<string, any> }

function load (name: string): Line[] {
  return transcript(name) as Line[]
}

/** The constellation's requests of a capture (heartbeats aside), each with the server frames that answered it. */
function exchanges (lines: Line[], conn: string): Array<{ request: Record<string, any>, answers: Array<Record<string, any>> }> {
  const own = lines.filter((line) => line.conn === conn)
  const result: Array<{ request: Record<string, any>, answers: Array<Record<string, any>> }> = []
  let skipNext = false
  for (const line of own) {
    if (line.dir === 'client->server') {
      skipNext = line.frame.type === 'heartbeat'
      if (!skipNext) result.push({ request: line.frame, answers: [] })
    } else if (skipNext) {
      skipNext = false // the answer to a heartbeat: heartbeats are answered live
    } else {
      result.at(-1)?.answers.push(line.frame)
    }
  }
  return result
}

const cases = [
  { file: 's1-task-roundtrip.jsonl', conn: 'constellation:galaxy_task@dev1', taskName: 'galaxy_task', taskId: 't1', wireTaskName: 'galaxy/galaxy_task/t1' },
  { file: 'node2-node-constellation-vs-py-server.jsonl', conn: 'constellation:nodegalaxy@dev1', taskName: 'nodegalaxy', taskId: 't-57d63b4b', wireTaskName: 'galaxy/nodegalaxy/t1' }
]

// The reference REGISTER of Galaxy (s1): both captures must be matched by this form.
const s1Register = exchanges(load('s1-task-roundtrip.jsonl'), 'constellation:galaxy_task@dev1')[0]?.request as Record<string, any>

// `continuity: false` sends the reference REGISTER byte for byte; with continuity on (the default) the only
// difference a reference server sees is the extra REGISTER metadata key asking for the extension.
const modes = cases.flatMap((c) => [false, true].map((continuity) => ({ ...c, continuity })))

for (const { file, conn, taskName, taskId, wireTaskName, continuity } of modes) {
  test(`replays the server side of ${file} (continuity ${continuity ? 'on' : 'off'})`, async (t) => {
    const lines = load(file)
    const script = exchanges(lines, conn)
    t.same(script.map((e) => e.request.type), ['register', 'device_info_request', 'task'], 'the capture\'s requests')
    const heartbeats: Array<Record<string, any>> = []
    const received: Array<Record<string, any>> = []
    const { url } = await scriptedServer(t, async (socket) => {
      let at = 0
      for (;;) {
        const frame = await socket.next(10_000)
        if (frame.type === 'heartbeat') {
          heartbeats.push(frame)
          // Answered as the Python server answers a constellation heartbeat (node2 seq 8).
          socket.send({ ...(lines.find((l) => l.seq === 8 && file.startsWith('node2'))?.frame ?? script[0]?.answers[0]), timestamp: new Date().toISOString() })
          continue
        }
        received.push(frame)
        const step = script[at++]
        for (const answer of step?.answers ?? []) {
          // DEVICE_INFO_RESPONSE echoes the request id, whatever its value.
          socket.send(answer.type === 'device_info_response' ? { ...answer, response_id: frame.request_id } : answer)
        }
      }
    })
    const constellation = new ConstellationEndpoint({ taskName, heartbeatIntervalMs: 20, continuity })
    t.teardown(() => constellation.stop())
    await constellation.connectToDevice({ deviceId: 'dev1', serverUrl: url })
    const info = await constellation.requestDeviceInfo('dev1')
    t.same(info, script[1]?.answers[0]?.result, 'device info resolves with the captured system_info')
    while (heartbeats.length === 0) await new Promise((resolve) => setTimeout(resolve, 5))
    const end = await constellation.sendTaskToDevice('dev1', { request: 'Open Notepad', taskId, taskName: wireTaskName })
    const capturedEnd = script[2]?.answers.find((a) => a.type === 'task_end')
    t.equal(end.status, 'completed')
    t.same(end.result, capturedEnd?.result, 'TASK_END resolves the task with its result')
    t.equal(end.sessionId, `${taskName}@${taskId}`)

    // Our frames: all 14 fields, in the reference order, with the reference values.
    const [register, infoRequest, task] = received as [Record<string, any>, Record<string, any>, Record<string, any>]
    for (const [name, frame] of [['REGISTER', register], ['DEVICE_INFO_REQUEST', infoRequest], ['TASK', task], ['HEARTBEAT', heartbeats[0]]] as const) {
      t.same(Object.keys(frame ?? {}), CLIENT_MESSAGE_FIELDS, `${name}: 14 fields in reference order`)
      t.type(frame?.timestamp, 'string')
      t.match(frame?.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$/, `${name}: reference timestamp form`)
    }
    const asked = continuity ? { aip_capabilities: ['resume', 'cancel', 'deadline'] } : {}
    const expectedRegister = { ...s1Register, client_id: `${taskName}@dev1`, metadata: { ...s1Register.metadata, task_name: taskName, ...asked }, timestamp: register.timestamp }
    t.same(register, expectedRegister, continuity ? 'REGISTER as Galaxy sends it, plus the capabilities asked for' : 'REGISTER as Galaxy sends it')
    t.same(Object.keys(register.metadata), ['type', 'task_name', 'targeted_device_id', 'capabilities', 'version', ...Object.keys(asked)])
    t.equal(constellation.getDevice('dev1')?.continuity, null, 'a reference server grants nothing')
    const capturedInfo = script[1]?.request as Record<string, any>
    t.same(infoRequest, { ...capturedInfo, client_id: `${taskName}@dev1`, timestamp: infoRequest.timestamp, request_id: infoRequest.request_id }, 'DEVICE_INFO_REQUEST')
    t.match(infoRequest.request_id, /^device_info_dev1_\d+\.\d{6}$/, 'request id in Galaxy\'s form')
    t.same(task, { ...script[2]?.request, timestamp: task.timestamp }, 'TASK exactly as captured (session id <taskName>@<taskId>)')
    const heartbeat = heartbeats[0] as Record<string, any>
    t.same(heartbeat, {
      type: 'heartbeat',
      status: 'ok',
      client_type: 'constellation',
      session_id: null,
      task_name: null,
      client_id: `${taskName}@dev1`,
      target_id: null,
      request: null,
      action_results: null,
      timestamp: heartbeat.timestamp,
      request_id: null,
      prev_response_id: null,
      error: null,
      metadata: { device_id: 'dev1' }
    }, 'HEARTBEAT with client_type constellation (not the reference orchestrator\'s "device", B1)')
  })
}
