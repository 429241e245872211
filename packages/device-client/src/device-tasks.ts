import { runTask, type AIPProtocol } from '@aip/endpoint'
import { buildTaskRequest, newId, type DecodedServerMessage } from '@aip/protocol'
import { AbortedError, TimeoutError, type Logger } from '@aip/resilience'
import { DisconnectedError, StoppedError, TaskAbortedError, TaskRefusedError, TaskTimeoutError } from './errors.js'

/** Options of {@link DeviceClientEndpoint.startTask}. */
export interface StartTaskOptions {
  /** `task_name` of the TASK. Default: a fresh uuid, as the reference device does. */
  taskName?: string
  /** Deadline for the TASK_END, counted from the send. Default: none. */
  timeoutMs?: number
  /** Deadline for the ack. Default: the client's `timeoutMs`. */
  ackTimeoutMs?: number
  signal?: AbortSignal
}

/** What the device's tasks need of their client. */
export interface DeviceTasksOptions {
  readonly clientId: string
  readonly platform: string
  /** The client's `timeoutMs`: the default deadline of an ack. */
  readonly ackTimeoutMs: number
  readonly log: Logger
  readonly stopped: () => boolean
  readonly onError: (error: unknown, context: string) => void
}

/**
 * The tasks a device starts itself (its own TASKs, and the TASK it answers a server's HTTP dispatch with), run
 * through the task-execution flow of `@aip/endpoint`. Acks are awaited one task at a time, so concurrent tasks
 * never take each other's ack.
 */
export class DeviceTasks {
  readonly #options: DeviceTasksOptions
  #ackGate: Promise<void> = Promise.resolve()

  constructor (options: DeviceTasksOptions) {
    this.#options = options
  }

  /** Sends a device TASK on `protocol` and resolves with its TASK_END; rejects with the device's task errors. */
  async start (protocol: AIPProtocol<'client'>, request: string, options: StartTaskOptions): Promise<DecodedServerMessage> {
    const previous = this.#ackGate
    let release!: () => void
    this.#ackGate = new Promise<void>((resolve) => { release = resolve })
    await previous
    const task = buildTaskRequest({
      clientId: this.#options.clientId,
      clientType: 'device',
      request,
      taskName: options.taskName ?? newId(),
      metadata: { platform: this.#options.platform }
    })
    const ackTimeoutMs = options.ackTimeoutMs ?? this.#options.ackTimeoutMs
    // The server's text of a refusal, from the ERROR frame itself (the flow's error carries it only in its message).
    let refusal: string | null = null
    const offError = protocol.onMessage('error', (message) => { if (message.session_id === null) refusal = message.error })
    try {
      if (!protocol.isOpen) throw new DisconnectedError('task')
      return await runTask(protocol, task, {
        ackTimeoutMs,
        ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        onAck: () => { offError(); release() }
      })
    } catch (err) {
      throw this.#taskError(err, ackTimeoutMs, options.timeoutMs, refusal)
    } finally {
      offError()
      release()
    }
  }

  /**
   * A server TASK (the reference's HTTP dispatch): like the reference device, answer with our own TASK carrying the
   * request and task name; unlike it, echo the session id the server chose (our server binds either form).
   */
  answerServerTask (protocol: AIPProtocol<'client'>, message: DecodedServerMessage): void {
    const task = buildTaskRequest({
      clientId: this.#options.clientId,
      clientType: 'device',
      request: message.user_request ?? '',
      taskName: message.task_name ?? newId(),
      sessionId: message.session_id,
      metadata: { platform: this.#options.platform }
    })
    runTask(protocol, task, { ackTimeoutMs: this.#options.ackTimeoutMs })
      .then((end) => this.#options.log.info({ sessionId: end.session_id, deviceId: this.#options.clientId, status: end.status }, 'dispatched task ended'))
      .catch((err: unknown) => {
        if (!this.#options.stopped()) this.#options.onError(err, 'serverTask')
      })
  }

  /** The device's error for a failed task, decided from the error's class and fields. */
  #taskError (err: unknown, ackTimeoutMs: number, timeoutMs: number | undefined, refusal: string | null): unknown {
    if (this.#options.stopped()) return new StoppedError({ cause: err })
    if (err instanceof TimeoutError) {
      const ack = err.operation === 'task ack'
      return new TaskTimeoutError(ack ? 'ack' : 'TASK_END', ack ? ackTimeoutMs : timeoutMs ?? 0, { cause: err })
    }
    if (err instanceof AbortedError) return new TaskAbortedError({ cause: err })
    switch ((err as { code?: string }).code) {
      case 'AIP_ERR_ENDPOINT_REQUEST_REFUSED':
        return new TaskRefusedError(refusal ?? 'unknown error', { cause: err })
      case 'AIP_ERR_ENDPOINT_TRANSPORT_CLOSED':
        return new DisconnectedError('task', { cause: err })
      default:
        return err
    }
  }
}
