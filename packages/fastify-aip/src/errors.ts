import { createError } from '@fastify/error'

/**
 * The shared `AIP_ERR_INVALID_OPTION` of `@aip/resilience` (fields `option`, `expected`, `received`), re-exported
 * under its name: a bad option of the plugin, or of the endpoint it builds, throws it.
 */
export { InvalidOptionError } from '@aip/resilience'

/** The plugin was registered twice in one encapsulation context (the `aip` decorator exists already). */
export const AlreadyRegisteredError = createError(
  'AIP_ERR_FASTIFY_ALREADY_REGISTERED',
  'fastify-aip is already registered in this encapsulation context (the "aip" decorator exists)',
  500
)

/** `tasks.dispatch` or `POST /dispatch` named a client that is not connected as a device. */
export const ClientNotConnectedError = createError('AIP_ERR_FASTIFY_CLIENT_NOT_CONNECTED', 'Client %s is not connected as a device', 404)

/** A dispatched task got no TASK_END within its `timeoutMs`; the task was cancelled. */
export const TaskTimeoutError = createError('AIP_ERR_FASTIFY_TASK_TIMEOUT', 'Task %s got no TASK_END within %d ms', 504)

/** The `signal` of a dispatched task aborted; the task was cancelled. */
export const TaskAbortedError = createError('AIP_ERR_FASTIFY_TASK_ABORTED', 'Task %s was aborted', 499)

/** The server is shutting down: no task is dispatched, no WebSocket accepted. */
export const ServerClosingError = createError('AIP_ERR_FASTIFY_SERVER_CLOSING', 'The AIP server is shutting down', 503)

/** `GET /task_result/:task_name` named a task that is neither running nor kept. */
export const TaskNotFoundError = createError('AIP_ERR_FASTIFY_TASK_NOT_FOUND', 'No running or kept task is named %s', 404)

/** An HTTP API request carried no `X-API-Key` header. */
export const MissingApiKeyError = createError('AIP_ERR_FASTIFY_MISSING_API_KEY', 'Missing X-API-Key header', 401)

/** An HTTP API request carried a wrong `X-API-Key`. */
export const InvalidApiKeyError = createError('AIP_ERR_FASTIFY_INVALID_API_KEY', 'Invalid API key', 401)

/** `tasks.dispatch` got an empty or non-string request. */
export const InvalidTaskError = createError('AIP_ERR_FASTIFY_INVALID_TASK', 'Invalid task: %s', 400)

/** A device already has the most dispatched tasks running that the server allows (`maxDispatchesPerDevice`). */
export const TooManyTasksError = createError('AIP_ERR_FASTIFY_TOO_MANY_TASKS', 'Device %s already has %d dispatched tasks running', 429)

/** `tasks.cancel` or `POST /api/tasks/:sessionId/cancel` named a session that is neither running, dispatched nor kept. */
export const SessionNotFoundError = createError('AIP_ERR_FASTIFY_SESSION_NOT_FOUND', 'No running or kept task has session id %s', 404)

/** `tasks.cancel` or `POST /api/tasks/:sessionId/cancel` named a task that has already ended. */
export const TaskEndedError = createError('AIP_ERR_FASTIFY_TASK_ENDED', 'Task %s has already ended', 409)

/** A dispatched task was cancelled (`tasks.cancel`, the cancel route, `sessions.cancel`) before the device took it up. */
export const TaskCancelledError = createError('AIP_ERR_FASTIFY_TASK_CANCELLED', 'Task %s was cancelled', 499)

/**
 * The client's address failed authentication more often than `authFailureLimit` allows within its window: every
 * attempt from it, a right credential included, is refused until the window ends (HTTP 429 with `Retry-After`).
 */
export const AuthRateLimitedError = createError(
  'AIP_ERR_FASTIFY_AUTH_RATE_LIMITED',
  'Too many failed authentications from this address; retry in %d s',
  429
)
