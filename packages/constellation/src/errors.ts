import { createError } from '@fastify/error'

/** Up to three message arguments, then `{ cause }`. */
type Args4 = [any?, any?, any?, any?]

/*
 * Errors thrown (or rejected with) locally by the constellation. ERROR messages on the wire and WebSocket close
 * codes are separate families: a server's ERROR text is carried in the message of `TaskRefusedError` and
 * `DeviceInfoRefusedError`, never the other way round.
 */

/**
 * A bad option (`AIP_ERR_INVALID_OPTION`: `option`, `expected`, `received`) or a bad argument — an agent profile, a
 * task request, a timeout — (`AIP_ERR_INVALID_ARGUMENT`: `argument`, `expected`, `received`): the shared errors
 * of `@aip/resilience`, re-exported under their names.
 */
export { InvalidArgumentError, InvalidOptionError } from '@aip/resilience'

/** The server answered the constellation's REGISTER with an ERROR (its text is in the message), or closed. */
export const RegistrationRefusedError = createError(
  'AIP_ERR_CONSTELLATION_REGISTRATION_REFUSED', 'Registration of %s was refused: %s', 502
)

/** The server did not answer the constellation's REGISTER in time. */
export const RegistrationTimeoutError = createError(
  'AIP_ERR_CONSTELLATION_REGISTRATION_TIMEOUT', 'Registration of %s got no answer within %d ms', 504
)

/** The WebSocket to a device's server could not be opened; `httpStatus` holds the status of a refused upgrade. */
export interface ConnectError extends Error {
  readonly code: 'AIP_ERR_CONSTELLATION_CONNECT'
  /** HTTP status of a refused upgrade (401, 403, ...), `undefined` for a network failure. */
  readonly httpStatus: number | undefined
}

const ConnectErrorBase = createError<'AIP_ERR_CONSTELLATION_CONNECT', 502, Args4>('AIP_ERR_CONSTELLATION_CONNECT', 'Could not connect to %s for device %s: %s', 502)

/** Builds a {@link ConnectError}. `url` must already be redacted. */
export function connectError (redactedUrl: string, deviceId: string, reason: string, httpStatus: number | undefined, cause?: unknown): ConnectError {
  const err = new ConnectErrorBase(redactedUrl, deviceId, reason, { cause }) as unknown as ConnectError
  Object.defineProperty(err, 'httpStatus', { value: httpStatus, enumerable: true })
  return err
}

/** The constructor behind {@link connectError}, for `instanceof` checks. */
export { ConnectErrorBase as ConnectErrorConstructor }

/** The device is known but has no usable connection (failed, or given up), so the request was not sent. */
export const NotConnectedError = createError('AIP_ERR_CONSTELLATION_NOT_CONNECTED', 'Device %s is not connected', 503)

/** No device with this id was added with `connectToDevice` (or it was removed by `disconnectDevice`). */
export const UnknownDeviceError = createError('AIP_ERR_CONSTELLATION_UNKNOWN_DEVICE', 'Unknown device %s', 404)

/** The server refused the TASK with an ERROR; the message holds the server's text. */
export const TaskRefusedError = createError('AIP_ERR_CONSTELLATION_TASK_REFUSED', 'Task %s was refused by the server: %s', 502)

/** The task's `AbortSignal` aborted before its TASK_END arrived. */
export const TaskAbortedError = createError('AIP_ERR_CONSTELLATION_TASK_ABORTED', 'Task %s was aborted', 499)

/** The device's connection closed (or reconnection gave up) before the task's TASK_END arrived. */
export const DeviceDisconnectedError = createError<'AIP_ERR_CONSTELLATION_DEVICE_DISCONNECTED', 503, Args4>(
  'AIP_ERR_CONSTELLATION_DEVICE_DISCONNECTED', 'Device %s disconnected before %s ended: %s', 503
)

/** The endpoint was stopped: every pending request was released with this error, and new ones are refused. */
export const StoppedError = createError('AIP_ERR_CONSTELLATION_STOPPED', 'The constellation endpoint is stopped', 503)

/** The server answered a DEVICE_INFO_REQUEST with an ERROR; the message holds the server's text. */
export const DeviceInfoRefusedError = createError(
  'AIP_ERR_CONSTELLATION_DEVICE_INFO_REFUSED', 'Device info request for %s was refused: %s', 502
)

/** A device's task queue is full (`maxQueuedTasks`). */
export const QueueFullError = createError('AIP_ERR_CONSTELLATION_QUEUE_FULL', 'The task queue of device %s is full (%d tasks)', 429)

/** `sendTaskToDevice` was given a session id that is already queued or running on the device. */
export const DuplicateSessionError = createError(
  'AIP_ERR_CONSTELLATION_DUPLICATE_SESSION', 'Session %s is already queued or running on device %s', 409
)
