// A task round trip between a constellation, a device-agent server and a device, written and read with
// @aip/protocol alone: every frame is encoded exactly as the Python reference writes it, passed as text, and
// decoded and validated on the other side. No sockets: the three roles sit in one process.
import {
  answersCommand, buildCommand, buildCommandResults, buildConstellationRegistration, buildDeviceRegistration,
  buildRegistrationConfirmation, buildTaskAck, buildTaskEnd, buildTaskRequest, constellationClientId,
  constellationSessionId, decodeClientMessage, decodeServerMessage, encodeClientMessage, encodeServerMessage,
  isTaskEnd, sanitizeTaskName, type DecodedClientMessage, type DecodedServerMessage, type Result
} from '@aip/protocol'

const SHOWN = ['type', 'status', 'client_id', 'target_id', 'session_id', 'task_name', 'request', 'response_id', 'prev_response_id']

/** One line per frame: its size and the fields that are set among the interesting ones. */
function show (direction: string, frame: string): void {
  const fields = JSON.parse(frame) as Record<string, unknown>
  const set = SHOWN.filter((name) => fields[name] != null).map((name) => {
    const value = String(fields[name])
    return `${name}=${name.endsWith('response_id') ? `${value.slice(0, 8)}...` : JSON.stringify(value)}`
  })
  process.stdout.write(`${direction.padEnd(24)} ${String(frame.length).padStart(4)} B  ${set.join(' ')}\n`)
}

/** A client frame arriving at the server: decoded and validated, as a server would. */
function serverReceives (from: string, frame: string): DecodedClientMessage {
  show(`${from} -> server`, frame)
  const result = decodeClientMessage(frame)
  if (!result.ok) throw result.error
  return result.value
}

/** A server frame arriving at a client. */
function clientReceives (to: string, frame: string): DecodedServerMessage {
  show(`server -> ${to}`, frame)
  const result = decodeServerMessage(frame)
  if (!result.ok) throw result.error
  return result.value
}

const deviceId = 'laptop-1'
const taskName = 'tour'
const constellationId = constellationClientId(taskName, deviceId)

// 1. The device registers; the server confirms with HEARTBEAT ok.
serverReceives('device', encodeClientMessage(buildDeviceRegistration({ clientId: deviceId, platform: 'linux' })))
clientReceives('device', encodeServerMessage(buildRegistrationConfirmation()))

// 2. The constellation registers, scoped to the device.
serverReceives('constellation', encodeClientMessage(buildConstellationRegistration({ clientId: constellationId, targetId: deviceId, taskName })))
clientReceives('constellation', encodeServerMessage(buildRegistrationConfirmation()))

// 3. It sends a TASK in a session it names; the server acks with that session id.
const sessionId = constellationSessionId(taskName, 't1')
const task = serverReceives('constellation', encodeClientMessage(buildTaskRequest({
  clientId: constellationId,
  clientType: 'constellation',
  sessionId,
  taskName: `galaxy/${taskName}/t1`,
  targetId: deviceId,
  request: 'Count the files in the home directory'
})))
clientReceives('constellation', encodeServerMessage(buildTaskAck({ sessionId })))

// 4. The agent sends one COMMAND; the device answers with one Result per Command, echoing call ids.
const command = clientReceives('device', encodeServerMessage(buildCommand({
  sessionId,
  taskName: sanitizeTaskName(task.task_name ?? ''),
  agentName: 'HostAgent',
  actions: [{ tool_name: 'list_dir', parameters: { path: '~' }, tool_type: 'data_collection' }]
})))
const results: Result[] = (command.actions ?? []).map((action) => ({
  status: 'success', result: { entries: 42 }, namespace: 'demo', call_id: action.call_id ?? null
}))
const answer = serverReceives('device', encodeClientMessage(buildCommandResults({
  clientId: deviceId, sessionId, prevResponseId: command.response_id ?? '', results
})))
if (!answersCommand(answer, command)) throw new Error('the results do not answer the command')

// 5. The server ends the task, for the requester and a copy for the device.
const end = buildTaskEnd({ sessionId, status: 'completed', result: [{ request: task.request, result: answer.action_results }] })
const received = clientReceives('constellation', encodeServerMessage(end))
clientReceives('device', encodeServerMessage(end))
if (!isTaskEnd(received, sessionId)) throw new Error('the task did not end')

// 6. A malformed frame is refused with a coded error that names every problem.
const bad = decodeClientMessage('{"type": "heartbeat", "client_id": 7}')
if (bad.ok) throw new Error('a malformed frame was accepted')
process.stdout.write(`\nmalformed frame refused: ${bad.error.code}: ${bad.error.message}\n`)
process.stdout.write(`task ${sessionId} ended ${received.status}\n`)
