import { Type, type Static, type TLiteral, type TUnion } from '@sinclair/typebox'

function literalUnion<const T extends readonly string[]> (values: T, description: string): TUnion<Array<TLiteral<T[number]>>> {
  return Type.Union(values.map((value) => Type.Literal(value)), { description }) as never
}

/** Every `type` a client (device or constellation) may send, in the reference's declaration order. */
export const CLIENT_MESSAGE_TYPES = [
  'task',
  'heartbeat',
  'command_results',
  'error',
  'register',
  'task_end',
  'device_info_request',
  'device_info_response'
] as const

/**
 * Client message types of our negotiated extensions (PROTOCOL.md): `task_cancel` (the continuity extension). A
 * server answers one from a client that did not negotiate it as it answers any type it does not take.
 */
export const EXTENSION_CLIENT_MESSAGE_TYPES = ['task_cancel'] as const

/** `type` of a ClientMessage: a reference type, or an extension type. Case-sensitive, lower-case on the wire. */
export const ClientMessageType = literalUnion([...CLIENT_MESSAGE_TYPES, ...EXTENSION_CLIENT_MESSAGE_TYPES] as const, 'Type of a client message')
export type ClientMessageType = Static<typeof ClientMessageType>

/** Every `type` the server may send, in the reference's declaration order. */
export const SERVER_MESSAGE_TYPES = [
  'task',
  'heartbeat',
  'task_end',
  'command',
  'error',
  'device_info_request',
  'device_info_response'
] as const

/**
 * Server message types of our negotiated extensions (PROTOCOL.md): `device_presence` (the presence extension), sent
 * only to a connection granted `presence`.
 */
export const EXTENSION_SERVER_MESSAGE_TYPES = ['device_presence'] as const

/** `type` of a ServerMessage: a reference type, or an extension type. */
export const ServerMessageType = literalUnion([...SERVER_MESSAGE_TYPES, ...EXTENSION_SERVER_MESSAGE_TYPES] as const, 'Type of a server message')
export type ServerMessageType = Static<typeof ServerMessageType>

/** Every value of `status` on a message. */
export const TASK_STATUSES = ['continue', 'completed', 'failed', 'ok', 'error'] as const

/**
 * `status` of every message: `continue` (more steps follow), `completed`, `failed`, `ok` (acknowledgement or
 * health) and `error` (protocol-level error).
 */
export const TaskStatus = literalUnion(TASK_STATUSES, 'Status of a message')
export type TaskStatus = Static<typeof TaskStatus>

/** Every role a client can register as. */
export const CLIENT_TYPES = ['device', 'constellation'] as const

/** `client_type`: a device agent that executes commands, or a constellation that orchestrates devices. */
export const ClientType = literalUnion(CLIENT_TYPES, 'Role of a client')
export type ClientType = Static<typeof ClientType>

/** Every value of `Result.status`. */
export const RESULT_STATUSES = ['success', 'failure', 'skipped', 'none'] as const

/** `status` of one command's Result. */
export const ResultStatus = literalUnion(RESULT_STATUSES, 'Status of a command result')
export type ResultStatus = Static<typeof ResultStatus>

/** Every value of `Command.tool_type`. */
export const TOOL_TYPES = ['data_collection', 'action'] as const

/** `tool_type` of a Command: a read-only data collection, or an action with effects. */
export const ToolType = literalUnion(TOOL_TYPES, 'Kind of tool a command calls')
export type ToolType = Static<typeof ToolType>
