import type { DeviceServerEndpoint, TaskRecord } from '@aip/device-server'
import type { CancelReason } from '@aip/device-server'
import {
  ClientNotConnectedError, InvalidTaskError, ServerClosingError, SessionNotFoundError, TaskAbortedError, TaskCancelledError, TaskEndedError,
  TaskTimeoutError, TooManyTasksError
} from './errors.js'

/** Options of {@link AipTasks.dispatch}. */
export interface TaskDispatchOptions {
  /** Task name (sanitised to `[A-Za-z0-9._-]`). Default: the session id. */
  taskName?: string
  /** Cancels the task and rejects with `AIP_ERR_FASTIFY_TASK_TIMEOUT` when no TASK_END came in time. Default: the endpoint's `dispatchTimeoutMs` (10 minutes). */
  timeoutMs?: number
  /** Cancels the task and rejects with `AIP_ERR_FASTIFY_TASK_ABORTED` when it aborts. */
  signal?: AbortSignal
}

/** A task sent to a device, before its end. */
export interface StartedTask {
  /** The session id the task really runs under. */
  readonly sessionId: string
  /** The sanitised task name. */
  readonly taskName: string
  /** Resolves with the task's record at its TASK_END; rejects with the coded errors of {@link AipTasks.dispatch}. */
  readonly done: Promise<TaskRecord>
}

/** Longest cancel reason kept (the rest is cut): it goes into the TASK_END's error text. */
export const MAX_CANCEL_REASON_CHARS = 256

/** Names of dispatched tasks remembered for `GET /task_result/:name` (the default `maxResults`). */
export const MAX_NAMED_TASKS = 10_000

function code (err: unknown): string | undefined {
  return typeof err === 'object' && err !== null ? (err as { code?: string }).code : undefined
}

/**
 * `fastify.aip.tasks`: sends tasks to devices from any route, as the reference `/api/dispatch` does, and awaits
 * their TASK_END.
 */
export class AipTasks {
  readonly #endpoint: DeviceServerEndpoint
  /**
   * The session id of the latest task dispatched under each name, oldest first, at most {@link MAX_NAMED_TASKS}:
   * `GET /task_result/:name` reads only these, so a WebSocket client naming its own task alike cannot answer for it.
   */
  readonly #named = new Map<string, string>()
  #closing = false

  constructor (endpoint: DeviceServerEndpoint) {
    this.#endpoint = endpoint
  }

  /**
   * Sends a task to a connected device and resolves once it is on its way, with the session id it runs under.
   * Rejects with `AIP_ERR_FASTIFY_INVALID_TASK`, `AIP_ERR_FASTIFY_CLIENT_NOT_CONNECTED`, `AIP_ERR_FASTIFY_SERVER_CLOSING` or
   * `AIP_ERR_FASTIFY_TASK_ABORTED` (signal already aborted).
   *
   * In a cluster, a device connected to another node gets the task through that node, where it runs: this resolves
   * once that node took it, and `done` settles with the record made there (the same shape as a local task's). The
   * timeout, the signal and {@link cancel} reach it there; the loss of that node ends it with a failed record. While
   * the cluster store cannot be reached, a task for a device that is not on this node rejects with
   * `AIP_ERR_CLUSTER_UNAVAILABLE` (503).
   */
  async start (deviceId: string, request: string, options: TaskDispatchOptions = {}): Promise<StartedTask> {
    if (this.#closing) throw new ServerClosingError()
    if (typeof deviceId !== 'string' || deviceId === '') throw new InvalidTaskError('the device id must be a non-empty string')
    if (typeof request !== 'string' || request === '') throw new InvalidTaskError('the request must be a non-empty string')
    if (options.signal?.aborted === true) throw new TaskAbortedError(options.taskName ?? '(not started)', { cause: options.signal.reason })
    let dispatched
    try {
      dispatched = await this.#endpoint.dispatch(deviceId, request, options)
    } catch (err) {
      throw this.#translate(err, deviceId, options.taskName ?? '(not started)', options)
    }
    const { sessionId, taskName } = dispatched
    this.#named.delete(taskName)
    this.#named.set(taskName, sessionId)
    if (this.#named.size > MAX_NAMED_TASKS) this.#named.delete(this.#named.keys().next().value as string)
    const done = dispatched.done.catch((err: unknown) => { throw this.#translate(err, deviceId, taskName, options) })
    return { sessionId, taskName, done }
  }

  /**
   * Sends a task to a connected device and resolves with its record at TASK_END (status `completed` or `failed`:
   * a task that ran and failed resolves too). Rejects with `AIP_ERR_FASTIFY_CLIENT_NOT_CONNECTED` (also when the
   * device leaves before it takes the task up), `AIP_ERR_FASTIFY_TASK_TIMEOUT`, `AIP_ERR_FASTIFY_TASK_ABORTED`
   * or `AIP_ERR_FASTIFY_SERVER_CLOSING`.
   */
  async dispatch (deviceId: string, request: string, options: TaskDispatchOptions = {}): Promise<TaskRecord> {
    const started = await this.start(deviceId, request, options)
    return await started.done
  }

  /**
   * Cancels a task by its session id: a running one (sent by any requester: a constellation, a device, or
   * `dispatch`) ends with TASK_END `failed` (`Task was cancelled: <reason>`) to its requester and a copy to its device,
   * whose running tool is aborted; a dispatched one the device has not taken up is withdrawn. Returns once the
   * cancel is under way (the TASK_END follows when the agent has stopped). Throws
   * `AIP_ERR_FASTIFY_SESSION_NOT_FOUND` (404) for an unknown session and `AIP_ERR_FASTIFY_TASK_ENDED` (409) for one
   * that has ended.
   */
  cancel (sessionId: string, reason = 'cancelled'): void {
    if (typeof sessionId !== 'string' || sessionId === '') throw new InvalidTaskError('the session id must be a non-empty string')
    if (typeof reason !== 'string' || reason === '') throw new InvalidTaskError('the reason must be a non-empty string')
    const cause = (reason.length > MAX_CANCEL_REASON_CHARS ? reason.slice(0, MAX_CANCEL_REASON_CHARS) : reason) as CancelReason
    if (this.#endpoint.cancelSession(sessionId, cause)) return
    if (this.#endpoint.getResult(sessionId) !== undefined) throw new TaskEndedError(sessionId)
    throw new SessionNotFoundError(sessionId)
  }

  /** The session id of a dispatched task, by name, until it ends (the latest one, when several share the name). */
  pendingSession (taskName: string): string | undefined {
    let found: string | undefined
    for (const dispatch of this.#endpoint.listDispatches()) if (dispatch.taskName === taskName) found = dispatch.sessionId
    return found
  }

  /** The session id of the latest task dispatched under this name (running or ended), if it is remembered. */
  sessionOf (taskName: string): string | undefined {
    return this.#named.get(taskName)
  }

  /** Refuses new tasks (the plugin's `preClose`). */
  closing (): void {
    this.#closing = true
  }

  /** Forgets every pending task (the plugin's `onClose`). */
  close (): void {
    this.#closing = true
    this.#named.clear()
  }

  #translate (err: unknown, deviceId: string, taskName: string, options: TaskDispatchOptions): Error {
    switch (code(err)) {
      case 'AIP_ERR_SERVER_CLIENT_NOT_CONNECTED':
        // A device that leaves because the server closes is no fault of the caller's.
        if (this.#closing) return new ServerClosingError({ cause: err })
        return new ClientNotConnectedError(deviceId, { cause: err })
      case 'AIP_ERR_SERVER_STOPPED': return new ServerClosingError({ cause: err })
      // A device on another node while the cluster store is away (503), or that node drains (503): as they are.
      case 'AIP_ERR_CLUSTER_UNAVAILABLE':
      case 'AIP_ERR_SERVER_DRAINING':
        return err as Error
      case 'AIP_ERR_SERVER_TOO_MANY_DISPATCHES':
        return new TooManyTasksError(deviceId, this.#endpoint.options.maxDispatchesPerDevice, { cause: err })
      case 'AIP_ERR_SERVER_REQUEST_TOO_LARGE': return new InvalidTaskError((err as Error).message.replace(/^The request/, 'the request'), { cause: err })
      case 'AIP_ERR_SERVER_SESSION_CANCELLED':
        if (options.signal?.aborted === true) return new TaskAbortedError(taskName, { cause: err })
        // Cancelled by a call (`tasks.cancel`, the cancel route), not by its deadline.
        if ((err as { reason?: string }).reason !== 'timed out') return new TaskCancelledError(taskName, { cause: err })
        return new TaskTimeoutError(taskName, options.timeoutMs ?? this.#endpoint.options.dispatchTimeoutMs, { cause: err })
    }
    /* c8 ignore next */
    return err instanceof Error ? err : new Error(String(err))
  }
}
