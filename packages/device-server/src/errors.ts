import { createError } from '@fastify/error'

/**
 * The shared `AIP_ERR_INVALID_OPTION` of `@aip/resilience` (fields `option`, `expected`, `received`), re-exported
 * under its name: a bad option of `DeviceServerEndpoint` or of `drain()` throws it.
 */
export { InvalidOptionError } from '@aip/resilience'

const SessionCancelledBase = createError('AIP_ERR_SERVER_SESSION_CANCELLED', 'Session %s was cancelled: %s', 499)

/**
 * The session ended (device or requester gone, server stopping, a dispatch's deadline or signal) while a command
 * was waiting for results. `reason` says why, as a field: code reads it, never the message.
 */
export class SessionCancelledError extends SessionCancelledBase {
  /** The session that was cancelled. */
  readonly sessionId: string
  /** Why: `device_disconnected`, `requester_disconnected`, `server_stopping`, `cancelled`, `aborted`, `timed out`. */
  readonly reason: string

  constructor (sessionId = '', reason = 'cancelled') {
    super(sessionId, reason)
    this.sessionId = sessionId
    this.reason = reason
  }
}

const CommandTimeoutBase = createError('AIP_ERR_SERVER_COMMAND_TIMEOUT', 'Command %s got no results within %d ms', 504)

/** A command got no COMMAND_RESULTS within its timeout; `responseId` and `timeoutMs` say which and how long. */
export class CommandTimeoutError extends CommandTimeoutBase {
  /** The COMMAND's `response_id`. */
  readonly responseId: string
  /** The timeout it had, in milliseconds. */
  readonly timeoutMs: number

  constructor (responseId = '', timeoutMs = 0) {
    super(responseId, timeoutMs)
    this.responseId = responseId
    this.timeoutMs = timeoutMs
  }
}

/**
 * Thrown by an agent to fail its task with a message the requester may read. Any other error fails the task
 * with a generic text, so that internal details never reach a peer.
 */
export const TaskFailedError = createError('AIP_ERR_SERVER_TASK_FAILED', '%s', 500)

/** The endpoint is stopped; no new connection is accepted. */
export const ServerStoppedError = createError('AIP_ERR_SERVER_STOPPED', 'The device server is stopped', 503)

/** `dispatch()` named a client that is not connected, or not a device. */
export const ClientNotConnectedError = createError('AIP_ERR_SERVER_CLIENT_NOT_CONNECTED', 'Client %s is not connected', 404)

/** `dispatch()` got a request longer than `maxRequestBytes`. */
export const RequestTooLargeError = createError('AIP_ERR_SERVER_REQUEST_TOO_LARGE', 'The request is longer than %d bytes', 413)

/** `dispatch()` named a device that already has `maxDispatchesPerDevice` dispatched tasks not ended. */
export const TooManyDispatchesError = createError('AIP_ERR_SERVER_TOO_MANY_DISPATCHES', 'Device %s already has %d dispatched tasks running', 429)

/** `drain()` was called: the server takes no new task (it finishes the running ones, then restarts). */
export const ServerDrainingError = createError('AIP_ERR_SERVER_DRAINING', 'The device server is draining: no new task is accepted', 503)

const ClusterUnavailableBase = createError<'AIP_ERR_CLUSTER_UNAVAILABLE', 503, [string, { cause: unknown }?]>(
  'AIP_ERR_CLUSTER_UNAVAILABLE',
  'The cluster is unavailable for %s; retry later',
  503
)

/**
 * The cluster store (Redis) cannot be reached, so work that involves another node (a task for a device connected
 * elsewhere, a cluster-wide listing) is refused. Work that stays on this node goes on; the link recovers on its
 * own. `operation` names what failed; `cause` holds the store's error. A `ClusterLink` rejects with it too.
 */
export class ClusterUnavailableError extends ClusterUnavailableBase {
  /** What could not be done, for example `forward task` or `claim`. */
  readonly operation: string

  /**
   * @param operation - what could not be done
   * @param cause - the store's error, if any
   */
  constructor (operation = 'cluster work', cause?: unknown) {
    if (cause === undefined) super(operation)
    else super(operation, { cause })
    this.operation = operation
  }
}
