import type { Command } from './command.js'
import { newId } from './ids.js'
import type { DecodedServerMessage } from './messages.js'
import { normalizeCommand } from './normalize.js'
import { timestamp as now } from './timestamp.js'

/** Fields every server builder accepts. */
export interface ServerMessageBase {
  /** Override the generated `response_id` (a fresh uuid4 by default). */
  responseId?: string | undefined
  /** Override the generated timestamp (tests, replays). */
  timestamp?: string | undefined
}

type Fields = Partial<Omit<DecodedServerMessage, 'type' | 'status'>> & Pick<DecodedServerMessage, 'type' | 'status'>

/**
 * A ServerMessage in the reference form: every field, in the reference order, null when not given; a fresh
 * timestamp and `response_id` unless given. Internal: the builders (and the extensions' builders) use it.
 */
export function serverMessage (fields: Fields): DecodedServerMessage {
  return {
    type: fields.type,
    status: fields.status,
    user_request: fields.user_request ?? null,
    agent_name: fields.agent_name ?? null,
    process_name: fields.process_name ?? null,
    root_name: fields.root_name ?? null,
    actions: fields.actions ?? null,
    messages: fields.messages ?? null,
    error: fields.error ?? null,
    session_id: fields.session_id ?? null,
    task_name: fields.task_name ?? null,
    timestamp: fields.timestamp ?? now(),
    response_id: fields.response_id ?? newId(),
    result: fields.result ?? null
  }
}

/** Input of {@link buildServerHeartbeat}. */
export interface ServerHeartbeatInput extends ServerMessageBase {
  /** Set only when the heartbeat acknowledges a TASK (see {@link buildTaskAck}). */
  sessionId?: string | null | undefined
}

/**
 * HEARTBEAT `ok` from the server. Without a session id it is both the registration confirmation (the first
 * frame the server sends on a connection) and the answer to a client HEARTBEAT.
 */
export function buildServerHeartbeat (input: ServerHeartbeatInput = {}): DecodedServerMessage {
  return serverMessage({
    type: 'heartbeat',
    status: 'ok',
    session_id: input.sessionId ?? null,
    timestamp: input.timestamp,
    response_id: input.responseId
  })
}

/** The registration confirmation: HEARTBEAT `ok` with no session id. */
export function buildRegistrationConfirmation (input: ServerMessageBase = {}): DecodedServerMessage {
  return buildServerHeartbeat(input)
}

/** Input of {@link buildTaskAck}. */
export interface TaskAckInput extends ServerMessageBase {
  /** The session the TASK runs in: the requester's choice, or the id the server generated. */
  sessionId: string
}

/** The acknowledgement of a TASK: HEARTBEAT `ok` carrying the task's `session_id`. */
export function buildTaskAck (input: TaskAckInput): DecodedServerMessage {
  return buildServerHeartbeat(input)
}

/** Input of {@link buildCommand}. */
export interface CommandInput extends ServerMessageBase {
  sessionId: string
  /** The sanitised task name. */
  taskName: string | null
  /** The tool calls, run in order by the device. */
  actions: readonly Command[]
  /** An agent the device knows; the reference device ignores a COMMAND for an agent it has no tools for. */
  agentName?: string | null | undefined
  processName?: string | null | undefined
  rootName?: string | null | undefined
  userRequest?: string | null | undefined
  /**
   * Give every Command a fresh `call_id`, overwriting any it has, as the reference server does. Default `true`.
   */
  assignCallIds?: boolean | undefined
}

/** COMMAND from the server to a device. Always `status: "continue"`, as the reference sends it. */
export function buildCommand (input: CommandInput): DecodedServerMessage {
  const assign = input.assignCallIds ?? true
  return serverMessage({
    type: 'command',
    status: 'continue',
    user_request: input.userRequest ?? null,
    agent_name: input.agentName ?? null,
    process_name: input.processName ?? null,
    root_name: input.rootName ?? null,
    actions: input.actions.map((command) => {
      const normalized = normalizeCommand(command)
      if (assign) normalized.call_id = newId()
      return normalized
    }),
    session_id: input.sessionId,
    task_name: input.taskName,
    timestamp: input.timestamp,
    response_id: input.responseId
  })
}

/** Input of {@link buildTaskEnd}. */
export interface TaskEndInput extends ServerMessageBase {
  sessionId: string
  status: 'completed' | 'failed'
  /** The task's results; the reference sends one `{ request, result: Result[] }` entry per step. */
  result?: unknown
  /** Why the task failed. */
  error?: string | null | undefined
}

/**
 * TASK_END from the server, to the requester and (a copy with the same `response_id`) to the device. Only a
 * TASK_END with the task's `session_id` ends a reference client's wait.
 */
export function buildTaskEnd (input: TaskEndInput): DecodedServerMessage {
  return serverMessage({
    type: 'task_end',
    status: input.status,
    error: input.error ?? null,
    session_id: input.sessionId,
    timestamp: input.timestamp,
    response_id: input.responseId,
    result: input.result ?? null
  })
}

/** Input of {@link buildServerError}. */
export interface ServerErrorInput extends ServerMessageBase {
  error: string
  /** The session the failed request concerned. The reference leaves it out (B5); we fill it when known. */
  sessionId?: string | null | undefined
}

/**
 * ERROR from the server. Pass the failed request's id as `responseId` so the client can correlate it; the
 * reference clients ignore both ids in an ERROR.
 */
export function buildServerError (input: ServerErrorInput): DecodedServerMessage {
  return serverMessage({
    type: 'error',
    status: 'error',
    error: input.error,
    session_id: input.sessionId ?? null,
    timestamp: input.timestamp,
    response_id: input.responseId
  })
}

/** Input of {@link buildDeviceInfoResponse}. */
export interface DeviceInfoResponseInput {
  /** The request's `request_id`, sent back as `response_id`. */
  requestId: string
  /** The device's system info, or the reference's `{ error }` object when there is none. */
  result: unknown
  /** Sets `status: "error"` and `error`. The reference answers a missing device with `ok` and a `result.error`. */
  error?: string | null | undefined
  timestamp?: string | undefined
}

/** DEVICE_INFO_RESPONSE from the server; its `response_id` is the request's `request_id`. */
export function buildDeviceInfoResponse (input: DeviceInfoResponseInput): DecodedServerMessage {
  return serverMessage({
    type: 'device_info_response',
    status: input.error == null ? 'ok' : 'error',
    error: input.error ?? null,
    timestamp: input.timestamp,
    response_id: input.requestId,
    result: input.result
  })
}

/** The `result` the reference sends when it has no telemetry for a device. */
export function deviceInfoUnavailable (deviceId: string): { error: string } {
  return { error: `Device ${deviceId} not found or no system info available` }
}

/** Input of {@link buildServerTask}. */
export interface ServerTaskInput extends ServerMessageBase {
  sessionId: string
  taskName: string
  /** What the device should do. */
  userRequest: string
}

/** TASK from the server to a device, as `/api/dispatch` sends it. The device answers by starting the task. */
export function buildServerTask (input: ServerTaskInput): DecodedServerMessage {
  return serverMessage({
    type: 'task',
    status: 'continue',
    user_request: input.userRequest,
    session_id: input.sessionId,
    task_name: input.taskName,
    timestamp: input.timestamp,
    response_id: input.responseId
  })
}
