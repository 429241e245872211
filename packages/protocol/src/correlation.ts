import type { ClientMessage, ServerMessage } from './messages.js'

/*
 * Which message answers which. The reference correlates by these rules only; everything else (ERROR answers,
 * heartbeat answers) carries no reliable link to its cause.
 */

/** HEARTBEAT `ok` without a session: the server accepted a REGISTER (it is the first frame it sends). */
export function isRegistrationConfirmation (message: ServerMessage): boolean {
  return message.type === 'heartbeat' && message.status === 'ok' && (message.session_id ?? null) === null
}

/** HEARTBEAT `ok` carrying `sessionId`: the server accepted the TASK of that session. */
export function isTaskAck (message: ServerMessage, sessionId: string): boolean {
  return message.type === 'heartbeat' && message.status === 'ok' && message.session_id === sessionId
}

/** TASK_END of `sessionId`: the only message that ends a task, on the requester's and the device's connection. */
export function isTaskEnd (message: ServerMessage, sessionId: string): boolean {
  return message.type === 'task_end' && message.session_id === sessionId
}

/** COMMAND_RESULTS answering `command`: its `prev_response_id` is the COMMAND's `response_id`. */
export function answersCommand (results: ClientMessage, command: ServerMessage): boolean {
  return results.type === 'command_results' && command.type === 'command' &&
    typeof command.response_id === 'string' && results.prev_response_id === command.response_id
}

/** DEVICE_INFO_RESPONSE answering `request`: its `response_id` is the request's `request_id`. */
export function answersDeviceInfoRequest (response: ServerMessage, request: ClientMessage): boolean {
  return response.type === 'device_info_response' && request.type === 'device_info_request' &&
    typeof request.request_id === 'string' && response.response_id === request.request_id
}

/**
 * The `call_id`s of a COMMAND's actions that no Result of `results` echoes, in command order. Empty when every
 * Command was answered.
 */
export function unansweredCallIds (command: ServerMessage, results: ClientMessage): string[] {
  const answered = new Set<string>()
  for (const result of results.action_results ?? []) {
    if (typeof result.call_id === 'string') answered.add(result.call_id)
  }
  const missing: string[] = []
  for (const action of command.actions ?? []) {
    if (typeof action.call_id === 'string' && !answered.has(action.call_id)) missing.push(action.call_id)
  }
  return missing
}
