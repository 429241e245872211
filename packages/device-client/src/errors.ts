import { createError } from '@fastify/error'
import type { FailureReason } from '@aip/endpoint'

const ConnectionErrorBase = createError('AIP_ERR_DEVICE_CONNECTION', 'Cannot connect device %s: %s', 502)

/** Details a {@link ConnectionError} carries besides its message. */
export interface ConnectionErrorDetails {
  /** The HTTP status of a refused upgrade (401, 403, ...), when the server answered one. */
  httpStatus?: number | undefined
  /** The WebSocket close code that ended the connection, when there was one. */
  closeCode?: number | undefined
  /** Why retrying stopped, as classified by `classifyFailure` of `@aip/endpoint` (`credentials`, `identity-conflict`...). */
  failure?: FailureReason | undefined
  /** The underlying error (`AIP_ERR_ENDPOINT_CONNECT`, `AIP_ERR_DEVICE_REGISTRATION_REFUSED`, ...). */
  cause?: unknown
}

/**
 * The device could not connect (or stay connected) and will not retry: `start()` rejects with it. `httpStatus`
 * holds the status of a refused upgrade, `closeCode` the close code that ended the last connection, `cause`
 * the underlying error.
 */
export type ConnectionError = InstanceType<typeof ConnectionErrorBase> & {
  readonly httpStatus: number | undefined
  readonly closeCode: number | undefined
  readonly failure: FailureReason | undefined
}

/** Builds the `AIP_ERR_DEVICE_CONNECTION` error. */
export function connectionError (clientId: string, reason: string, details: ConnectionErrorDetails = {}): ConnectionError {
  const err = new ConnectionErrorBase(clientId, reason, details.cause === undefined ? undefined : { cause: details.cause }) as ConnectionError
  Object.defineProperty(err, 'httpStatus', { value: details.httpStatus, enumerable: true })
  Object.defineProperty(err, 'closeCode', { value: details.closeCode, enumerable: true })
  Object.defineProperty(err, 'failure', { value: details.failure, enumerable: true })
  return err
}

/** The constructor of `AIP_ERR_DEVICE_CONNECTION` (`err instanceof ConnectionError`); build one with {@link connectionError}. */
export const ConnectionError = ConnectionErrorBase

/** The server refused the REGISTER (an ERROR with its text, or a refusing close). */
export const RegistrationRefusedError = createError(
  'AIP_ERR_DEVICE_REGISTRATION_REFUSED', 'Registration refused: %s', 403
)

/** The server did not answer the REGISTER before `timeoutMs`. */
export const RegistrationTimeoutError = createError(
  'AIP_ERR_DEVICE_REGISTRATION_TIMEOUT', 'No answer to the registration within %d ms', 504
)

/** The call needs a registered connection and there is none right now. */
export const NotRegisteredError = createError(
  'AIP_ERR_DEVICE_NOT_REGISTERED', 'The device is not registered (state: %s)', 503
)

/**
 * A bad option (`AIP_ERR_INVALID_OPTION`: `option`, `expected`, `received`) or a bad argument
 * (`AIP_ERR_INVALID_ARGUMENT`): the shared errors of `@aip/resilience`, re-exported under their names.
 */
export { InvalidArgumentError, InvalidOptionError } from '@aip/resilience'

/** A tool did not finish within its timeout; its signal was aborted and the Command failed. */
export const ToolTimeoutError = createError(
  'AIP_ERR_DEVICE_TOOL_TIMEOUT', "Tool '%s' timed out after %d ms", 504
)

/** A COMMAND named a tool that is not in the registry; the Command failed. */
export const UnknownToolError = createError(
  'AIP_ERR_DEVICE_UNKNOWN_TOOL', "Tool '%s' is not registered", 404
)

/** The server answered a device TASK with an ERROR (its text is in the message). */
export const TaskRefusedError = createError(
  'AIP_ERR_DEVICE_TASK_REFUSED', 'The server refused the task: %s', 400
)

/** A device TASK got no ack, or no TASK_END, in time. */
export const TaskTimeoutError = createError(
  'AIP_ERR_DEVICE_TASK_TIMEOUT', 'The task got no %s within %d ms', 504
)

/** A device TASK was abandoned because its `signal` aborted. */
export const TaskAbortedError = createError(
  'AIP_ERR_DEVICE_TASK_ABORTED', 'The task was aborted', 499
)

/** The connection dropped while a device TASK waited for its answer; the task's outcome is unknown. */
export const DisconnectedError = createError(
  'AIP_ERR_DEVICE_DISCONNECTED', 'The connection closed before the %s ended', 503
)

/** The client was stopped: `start()` and pending calls are refused. */
export const StoppedError = createError(
  'AIP_ERR_DEVICE_STOPPED', 'The device client is stopped', 503
)

/**
 * A COMMAND's deadline (its `aip_timeout_ms`, continuity `deadline`) passed: its tools' signal was aborted and
 * every Command of it failed with this text.
 */
export const CommandTimeoutError = createError(
  'AIP_ERR_DEVICE_COMMAND_TIMEOUT', 'The COMMAND timed out after %d ms', 504
)

/**
 * The server re-sent a COMMAND after this device process restarted (continuity `resume`): whether its actions
 * ran before the restart is unknown, so they are not run again and each Command fails with this text.
 */
export const RestartedInFlightError = createError(
  'AIP_ERR_DEVICE_RESTARTED_IN_FLIGHT', 'The device restarted while the command was in flight; its actions were not run again', 409
)
