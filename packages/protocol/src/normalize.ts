import type { Command, Result } from './command.js'
import type { ClientMessage, DecodedClientMessage, DecodedServerMessage, ServerMessage } from './messages.js'

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
