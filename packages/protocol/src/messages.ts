import { Type, type Static } from '@sinclair/typebox'
import { Command, Result } from './command.js'
import { ClientMessageType, ClientType, ServerMessageType, TaskStatus } from './enums.js'
import { nullable } from './nullable.js'

/**
 * A message from a client (device or constellation) to the server: the reference `ClientMessage`, 14 fields in
 * wire order. `type` and `status` are required; every other field may be omitted or `null` on input.
 * `client_type` is the exception: it may be omitted (and then means `device`) but not `null`.
 */
export const ClientMessage = Type.Object({
  type: ClientMessageType,
  status: TaskStatus,
  client_type: Type.Optional(ClientType),
  session_id: nullable(Type.String({ description: 'Session the message belongs to' })),
  task_name: nullable(Type.String({ description: 'Human-readable task name' })),
  client_id: nullable(Type.String({ description: 'Id of the sending client' })),
  target_id: nullable(Type.String({ description: 'Device a constellation targets' })),
  request: nullable(Type.String({ description: 'Request text of a TASK' })),
  action_results: nullable(Type.Array(Result, { description: 'One Result per Command of the answered COMMAND' })),
  timestamp: nullable(Type.String({ description: 'ISO 8601 timestamp' })),
  request_id: nullable(Type.String({ description: 'Id of this request' })),
  prev_response_id: nullable(Type.String({ description: 'response_id of the COMMAND this answers' })),
  error: nullable(Type.String({ description: 'Error text' })),
  metadata: nullable(Type.Record(Type.String(), Type.Unknown(), { description: 'Free-form metadata (system info, capabilities, extensions)' }))
}, { description: 'A message from a device or constellation to the server' })
export type ClientMessage = Static<typeof ClientMessage>

/** Wire order of the 14 ClientMessage fields. */
export const CLIENT_MESSAGE_FIELDS = [
  'type', 'status', 'client_type', 'session_id', 'task_name', 'client_id', 'target_id', 'request',
  'action_results', 'timestamp', 'request_id', 'prev_response_id', 'error', 'metadata'
] as const

/**
 * A message from the server to a client: the reference `ServerMessage`, 14 fields in wire order. `type` and
 * `status` are required; every other field may be omitted or `null` on input.
 */
export const ServerMessage = Type.Object({
  type: ServerMessageType,
  status: TaskStatus,
  user_request: nullable(Type.String({ description: 'The original user request' })),
  agent_name: nullable(Type.String({ description: 'Agent handling the task' })),
  process_name: nullable(Type.String({ description: 'Process name of the execution context' })),
  root_name: nullable(Type.String({ description: 'Root application name' })),
  actions: nullable(Type.Array(Command, { description: 'Commands to execute, in order' })),
  messages: nullable(Type.Array(Type.String(), { description: 'Log messages' })),
  error: nullable(Type.String({ description: 'Error text' })),
  session_id: nullable(Type.String({ description: 'Session the message belongs to' })),
  task_name: nullable(Type.String({ description: 'Task name' })),
  timestamp: nullable(Type.String({ description: 'ISO 8601 timestamp' })),
  response_id: nullable(Type.String({ description: 'Unique id of this message' })),
  result: Type.Optional(Type.Unknown({ description: 'Result payload of TASK_END or DEVICE_INFO_RESPONSE' }))
}, { description: 'A message from the server to a device or constellation' })
export type ServerMessage = Static<typeof ServerMessage>

/** Wire order of the 14 ServerMessage fields. */
export const SERVER_MESSAGE_FIELDS = [
  'type', 'status', 'user_request', 'agent_name', 'process_name', 'root_name', 'actions', 'messages', 'error',
  'session_id', 'task_name', 'timestamp', 'response_id', 'result'
] as const

/**
 * A decoded ClientMessage: every field present, `null` when unset, `client_type` defaulted to `device`, exactly
 * as the reference's parsed model holds it.
 */
export type DecodedClientMessage = { [K in keyof Required<ClientMessage>]-?: Exclude<ClientMessage[K], undefined> }

/** A decoded ServerMessage: every field present, `null` when unset. */
export type DecodedServerMessage = { [K in keyof Required<ServerMessage>]-?: Exclude<ServerMessage[K], undefined> }
