import type { Result } from './command.js'
import type { DeviceSystemInfo } from './device-info.js'
import type { ClientType, TaskStatus } from './enums.js'
import { newId } from './ids.js'
import type { DecodedClientMessage } from './messages.js'
import { normalizeResult } from './normalize.js'
import { timestamp as now } from './timestamp.js'

/** Fields every client builder accepts. */
export interface ClientMessageBase {
  /** Id the client registered with. */
  clientId: string
  /** Override the generated timestamp (tests, replays). */
  timestamp?: string
}

type Fields = Partial<Omit<DecodedClientMessage, 'type' | 'status'>> & Pick<DecodedClientMessage, 'type' | 'status'>

function clientMessage (fields: Fields): DecodedClientMessage {
  return {
    type: fields.type,
    status: fields.status,
    client_type: fields.client_type ?? 'device',
    session_id: fields.session_id ?? null,
    task_name: fields.task_name ?? null,
    client_id: fields.client_id ?? null,
    target_id: fields.target_id ?? null,
    request: fields.request ?? null,
    action_results: fields.action_results ?? null,
    timestamp: fields.timestamp ?? now(),
    request_id: fields.request_id ?? null,
    prev_response_id: fields.prev_response_id ?? null,
    error: fields.error ?? null,
    metadata: fields.metadata ?? null
  }
}

/** Input of {@link buildDeviceRegistration}. */
export interface DeviceRegistrationInput extends ClientMessageBase {
  /** Platform the device runs agents for (`windows`, `linux`, ...), sent as `metadata.platform`. */
  platform?: string | undefined
  /** Telemetry, sent as `metadata.system_info`; the server answers device-info requests from it. */
  systemInfo?: DeviceSystemInfo | undefined
  /** Registration time in the reference timestamp form; defaults to now. */
  registrationTime?: string | undefined
  /** More metadata keys, written after the standard ones. */
  metadata?: Record<string, unknown> | undefined
}

/** REGISTER from a device. The server answers HEARTBEAT `ok` or an ERROR. */
export function buildDeviceRegistration (input: DeviceRegistrationInput): DecodedClientMessage {
  const metadata: Record<string, unknown> = {}
  if (input.systemInfo !== undefined) metadata.system_info = input.systemInfo
  metadata.registration_time = input.registrationTime ?? now()
  if (input.platform !== undefined) metadata.platform = input.platform
  return clientMessage({
    type: 'register',
    status: 'ok',
    client_type: 'device',
    client_id: input.clientId,
    timestamp: input.timestamp,
    metadata: { ...metadata, ...input.metadata }
  })
}

/** Input of {@link buildConstellationRegistration}. */
export interface ConstellationRegistrationInput extends ClientMessageBase {
  /** The device this connection is scoped to. The reference accepts none (unscoped); our server may not. */
  targetId?: string | null | undefined
  /** The orchestrator's task name (the `task_name` key of the metadata). */
  taskName: string
  /** Capabilities announced in the metadata. */
  capabilities?: readonly string[] | undefined
  /** More metadata keys, written after the standard ones. */
  metadata?: Record<string, unknown> | undefined
}

/** Capabilities the reference orchestrator announces. */
export const DEFAULT_CONSTELLATION_CAPABILITIES = ['task_distribution', 'session_management', 'device_coordination'] as const

/** REGISTER from a constellation, scoped to `targetId`, with the reference's metadata keys. */
export function buildConstellationRegistration (input: ConstellationRegistrationInput): DecodedClientMessage {
  return clientMessage({
    type: 'register',
    status: 'ok',
    client_type: 'constellation',
    client_id: input.clientId,
    target_id: input.targetId ?? null,
    timestamp: input.timestamp,
    metadata: {
      type: 'constellation_client',
      task_name: input.taskName,
      targeted_device_id: input.targetId ?? null,
      capabilities: [...(input.capabilities ?? DEFAULT_CONSTELLATION_CAPABILITIES)],
      version: '2.0',
      ...input.metadata
    }
  })
}

/** Input of {@link buildHeartbeat}. */
export interface HeartbeatInput extends ClientMessageBase {
  /** The role the client registered with. It must match, or the server answers an ERROR. */
  clientType: ClientType
  metadata?: Record<string, unknown> | null | undefined
}

/** HEARTBEAT from a client. The server answers HEARTBEAT `ok`. */
export function buildHeartbeat (input: HeartbeatInput): DecodedClientMessage {
  return clientMessage({
    type: 'heartbeat',
    status: 'ok',
    client_type: input.clientType,
    client_id: input.clientId,
    timestamp: input.timestamp,
    metadata: input.metadata ?? null
  })
}

/** Input of {@link buildTaskRequest}. */
export interface TaskRequestInput extends ClientMessageBase {
  clientType: ClientType
  /** What the agent should do. */
  request: string
  taskName?: string | null | undefined
  /** Session id; a constellation chooses `<taskName>@<taskId>`, a device leaves it to the server. */
  sessionId?: string | null | undefined
  /** The device that runs the task; required from a constellation. */
  targetId?: string | null | undefined
  /** Defaults to a fresh id for a device-originated task, as the reference does. */
  requestId?: string | null | undefined
  metadata?: Record<string, unknown> | null | undefined
}

/** TASK from a constellation (with `targetId`) or from a device. The server acks with HEARTBEAT `ok` + session. */
export function buildTaskRequest (input: TaskRequestInput): DecodedClientMessage {
  return clientMessage({
    type: 'task',
    status: 'continue',
    client_type: input.clientType,
    session_id: input.sessionId ?? null,
    task_name: input.taskName ?? null,
    client_id: input.clientId,
    target_id: input.targetId ?? null,
    request: input.request,
    timestamp: input.timestamp,
    request_id: input.requestId !== undefined ? input.requestId : input.clientType === 'device' ? newId() : null,
    metadata: input.metadata ?? null
  })
}

/** Input of {@link buildCommandResults}. */
export interface CommandResultsInput extends ClientMessageBase {
  sessionId: string | null
  /** `response_id` of the COMMAND being answered. */
  prevResponseId: string
  /** One Result per Command, in order, each echoing its Command's `call_id`. */
  results: readonly Result[]
  /** Defaults to a fresh id. */
  requestId?: string | undefined
  /** Defaults to `continue`, as the reference device sends. */
  status?: TaskStatus | undefined
}

/** COMMAND_RESULTS from a device, answering one COMMAND. */
export function buildCommandResults (input: CommandResultsInput): DecodedClientMessage {
  return clientMessage({
    type: 'command_results',
    status: input.status ?? 'continue',
    client_type: 'device',
    session_id: input.sessionId,
    client_id: input.clientId,
    action_results: input.results.map(normalizeResult),
    timestamp: input.timestamp,
    request_id: input.requestId ?? newId(),
    prev_response_id: input.prevResponseId
  })
}

/** Input of {@link buildClientError}. */
export interface ClientErrorInput extends ClientMessageBase {
  clientType: ClientType
  error: string
  sessionId?: string | null | undefined
}

/**
 * ERROR from a client. Always carries `status: "error"` (the reference device's own error path omits it, so its
 * frame is never sent, B9).
 */
export function buildClientError (input: ClientErrorInput): DecodedClientMessage {
  return clientMessage({
    type: 'error',
    status: 'error',
    client_type: input.clientType,
    session_id: input.sessionId ?? null,
    client_id: input.clientId,
    timestamp: input.timestamp,
    error: input.error
  })
}

/** Input of {@link buildDeviceInfoRequest}. */
export interface DeviceInfoRequestInput extends ClientMessageBase {
  /** The device whose telemetry is asked for. */
  targetId: string
  /** Correlates the answer, whose `response_id` equals it. Defaults to `device_info_<targetId>_<uuid>`. */
  requestId?: string | undefined
}

/** DEVICE_INFO_REQUEST from a constellation. The server answers DEVICE_INFO_RESPONSE from its cache. */
export function buildDeviceInfoRequest (input: DeviceInfoRequestInput): DecodedClientMessage {
  return clientMessage({
    type: 'device_info_request',
    status: 'ok',
    client_type: 'constellation',
    client_id: input.clientId,
    target_id: input.targetId,
    timestamp: input.timestamp,
    request_id: input.requestId ?? `device_info_${input.targetId}_${newId()}`
  })
}

/** Input of {@link buildDeviceInfoPush}. */
export interface DeviceInfoPushInput extends ClientMessageBase {
  systemInfo: DeviceSystemInfo | Record<string, unknown>
}

/** DEVICE_INFO_RESPONSE from a device: fresh telemetry in `metadata` (the reference's push form). */
export function buildDeviceInfoPush (input: DeviceInfoPushInput): DecodedClientMessage {
  return clientMessage({
    type: 'device_info_response',
    status: 'ok',
    client_type: 'device',
    client_id: input.clientId,
    timestamp: input.timestamp,
    metadata: { ...input.systemInfo }
  })
}
