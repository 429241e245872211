import { createError } from '@fastify/error'

/** An option of `DeviceServerEndpoint` is invalid. */
export const InvalidOptionError = createError('AIP_ERR_SERVER_INVALID_OPTION', 'Invalid option %s: %s', 500, TypeError)

/** The session ended (device or requester gone, server stopping) while a command was waiting for results. */
export const SessionCancelledError = createError('AIP_ERR_SERVER_SESSION_CANCELLED', 'Session %s was cancelled: %s', 499)

/** A command got no COMMAND_RESULTS within its timeout. */
export const CommandTimeoutError = createError('AIP_ERR_SERVER_COMMAND_TIMEOUT', 'Command %s got no results within %d ms', 504)

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
