import { COMMAND_FIELDS, RESULT_FIELDS, type Command, type Result } from './command.js'
import {
  CLIENT_MESSAGE_FIELDS, SERVER_MESSAGE_FIELDS, type ClientMessage, type DecodedClientMessage, type DecodedServerMessage, type ServerMessage
} from './messages.js'

/** A Result with every field present, in wire order. */
export function normalizeResult (result: Result): Required<Result> {
  return {
    status: result.status,
    error: result.error ?? null,
    result: result.result ?? null,
    namespace: result.namespace ?? null,
    call_id: result.call_id ?? null
  }
}

/** A Command with every field present, in wire order. */
export function normalizeCommand (command: Command): Required<Command> {
  return {
    tool_name: command.tool_name,
    parameters: command.parameters ?? null,
    tool_type: command.tool_type,
    call_id: command.call_id ?? null
  }
}

/**
 * A ClientMessage with every field present in wire order, `null` when unset, `client_type` defaulted to
 * `device`, nested Results normalized. Unknown fields are dropped.
 */
export function normalizeClientMessage (message: ClientMessage): DecodedClientMessage {
  return {
    type: message.type,
    status: message.status,
    client_type: message.client_type ?? 'device',
    session_id: message.session_id ?? null,
    task_name: message.task_name ?? null,
    client_id: message.client_id ?? null,
    target_id: message.target_id ?? null,
    request: message.request ?? null,
    action_results: message.action_results == null ? null : message.action_results.map(normalizeResult),
    timestamp: message.timestamp ?? null,
    request_id: message.request_id ?? null,
    prev_response_id: message.prev_response_id ?? null,
    error: message.error ?? null,
    metadata: message.metadata ?? null
  }
}

/** A ServerMessage with every field present in wire order, `null` when unset, nested Commands normalized. */
export function normalizeServerMessage (message: ServerMessage): DecodedServerMessage {
  return {
    type: message.type,
    status: message.status,
    user_request: message.user_request ?? null,
    agent_name: message.agent_name ?? null,
    process_name: message.process_name ?? null,
    root_name: message.root_name ?? null,
    actions: message.actions == null ? null : message.actions.map(normalizeCommand),
    messages: message.messages ?? null,
    error: message.error ?? null,
    session_id: message.session_id ?? null,
    task_name: message.task_name ?? null,
    timestamp: message.timestamp ?? null,
    response_id: message.response_id ?? null,
    result: message.result ?? null
  }
}

/**
 * True when `value`'s enumerable keys are exactly `fields`, in that order, none holding `undefined`: the form the
 * normalisers produce, so that a copy would be equal to it, key for key (and `JSON.stringify` writes the same
 * text for both). `for...in` walks the keys without allocating; an inherited enumerable key fails the check.
 */
function hasExactly (value: object, fields: readonly string[]): boolean {
  let i = 0
  for (const key in value) {
    if (key !== fields[i] || (value as Record<string, unknown>)[key] === undefined) return false
    i++
  }
  return i === fields.length
}

function allHaveExactly (items: unknown, fields: readonly string[]): boolean {
  if (!Array.isArray(items)) return false
  for (const item of items) if (typeof item !== 'object' || item === null || !hasExactly(item, fields)) return false
  return true
}

/**
 * True when `message` is already what {@link normalizeClientMessage} would return (every field present, in wire
 * order, `client_type` set, every Result in its wire form): what our encoders and the reference write. Such a
 * message needs no normalised copy.
 * @internal
 */
export function isNormalClientMessage (message: ClientMessage): message is DecodedClientMessage {
  return hasExactly(message, CLIENT_MESSAGE_FIELDS) && message.client_type !== null &&
    (message.action_results === null || allHaveExactly(message.action_results, RESULT_FIELDS))
}

/**
 * True when `message` is already what {@link normalizeServerMessage} would return (every field present, in wire
 * order, every Command in its wire form): what our builders make and the reference writes.
 * @internal
 */
export function isNormalServerMessage (message: ServerMessage): message is DecodedServerMessage {
  return hasExactly(message, SERVER_MESSAGE_FIELDS) &&
    (message.actions === null || allHaveExactly(message.actions, COMMAND_FIELDS))
}
