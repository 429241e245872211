import { SpanKind, TRACEPARENT, activeTraceparent, parseTraceparent, startTraceSpan, type AIPProtocol } from '@aip/endpoint'
import { buildTaskRequest } from '@aip/protocol'
import { TimeoutError } from '@aip/resilience'
import { DeviceDisconnectedError, TaskAbortedError } from './errors.js'
import type { ConstellationHost } from './host.js'
import type { TaskOutcome, TaskPhase, TaskResult } from './types.js'

/** One task of a device, from `sendTaskToDevice` to its fate. */
export interface TaskEntry {
  readonly taskId: string
  readonly sessionId: string
  readonly taskName: string
  readonly request: string
  readonly metadata: Record<string, unknown> | null
  phase: TaskPhase
  settled: boolean
  /** The connection the TASK was written to (a later connection never ends it). */
  connection: AIPProtocol<'client'> | undefined
  timer: NodeJS.Timeout | undefined
  readonly signal: AbortSignal | undefined
  onAbort: (() => void) | undefined
  resolve: (result: TaskResult) => void
  reject: (error: unknown) => void
}

/** A checked task request, ready to queue. */
export interface TaskSpec {
  readonly taskId: string
  readonly sessionId: string
  readonly taskName: string
  readonly request: string
  readonly metadata: Record<string, unknown> | null
  /** Deadline of the whole task, queue wait included. */
  readonly timeoutMs: number
  readonly signal: AbortSignal | undefined
}

/** Whom a queue belongs to. */
export interface QueueOwner {
  readonly deviceId: string
  readonly clientId: string
  /** Whether the device is gone (removed or stopped): a settled task then starts no other. */
  readonly removed: boolean
  /** The device's registered, open connection, if any. */
  readonly sendable: AIPProtocol<'client'> | undefined
  /** The number of running tasks changed. */
  activityChanged: () => void
}

/**
 * The tasks of one device: a FIFO queue, the tasks sent and not ended (by session id), a pump that sends while
 * fewer than `maxConcurrentTasks` run, and the one way a task ends ({@link TaskQueue.settle}: first call wins).
 */
export class TaskQueue {
  readonly queued: TaskEntry[] = []
  /** Sent tasks by session id. */
  readonly running = new Map<string, TaskEntry>()
  readonly #host: ConstellationHost
  readonly #owner: QueueOwner

  constructor (host: ConstellationHost, owner: QueueOwner) {
    this.#host = host
    this.#owner = owner
  }

  /** Whether a task with this session id is queued or running. */
  has (sessionId: string): boolean {
    return this.running.has(sessionId) || this.queued.some((entry) => entry.sessionId === sessionId)
  }

  /**
   * Queues a task with its deadline (`TimeoutError` with `sessionId`, `deviceId`, `taskId`), its abort listener
   * and its trace span, and resolves with its TASK_END (or rejects with its fate).
   */
  enqueue (spec: TaskSpec): Promise<TaskResult> {
    const { taskId, sessionId, taskName, request, timeoutMs, signal } = spec
    const { deviceId } = this.#owner
    // The task's span, under a `traceparent` the caller put in the metadata or its active span (an OpenTelemetry
    // SDK runs). Only then does the TASK carry one, in `metadata.traceparent` (a key the reference server
    // ignores): otherwise the TASK is the reference's, byte for byte.
    const traced = spec.metadata?.[TRACEPARENT]
    const parent = typeof traced === 'string' && parseTraceparent(traced) !== null ? traced : activeTraceparent()
    const span = startTraceSpan('@aip/constellation', 'aip.task', {
      parent,
      kind: SpanKind.CLIENT,
      attributes: { 'aip.task_id': taskId, 'aip.session_id': sessionId, 'aip.device_id': deviceId }
    })
    return new Promise<TaskResult>((resolve, reject) => {
      const entry: TaskEntry = {
        taskId,
        sessionId,
        taskName,
        request,
        metadata: parent === null ? spec.metadata : { ...spec.metadata, [TRACEPARENT]: span.traceparent },
        phase: 'queued',
        settled: false,
        connection: undefined,
        timer: undefined,
        signal,
        onAbort: undefined,
        resolve: (result) => { span.end(result.status === 'failed' ? (result.error ?? 'failed') : undefined); resolve(result) },
        reject: (err) => { span.end(err); reject(err) }
      }
      entry.timer = setTimeout(() => {
        this.settle(entry, 'timed_out', new TimeoutError(`task ${taskId} on device ${deviceId}`, timeoutMs, { sessionId, deviceId, taskId }))
      }, timeoutMs)
      entry.timer.unref()
      if (signal !== undefined) {
        entry.onAbort = () => this.settle(entry, 'cancelled', new TaskAbortedError(taskId, { cause: signal.reason }))
        signal.addEventListener('abort', entry.onAbort, { once: true })
      }
      this.push(entry)
    })
  }

  /** Queues a task and sends what can be sent. */
  push (entry: TaskEntry): void {
    this.queued.push(entry)
    this.#host.log.debug({ deviceId: this.#owner.deviceId, taskId: entry.taskId, sessionId: entry.sessionId, queued: this.queued.length }, 'task queued')
    this.pump()
  }

  /** Sends queued tasks while the device has room, then reports the activity. */
  pump (): void {
    const protocol = this.#owner.sendable
    if (protocol === undefined || this.#owner.removed) return
    const { deviceId, clientId } = this.#owner
    while (this.running.size < this.#host.options.maxConcurrentTasks && this.queued.length > 0) {
      const entry = this.queued.shift() as TaskEntry
      entry.phase = 'sent'
      entry.connection = protocol
      // The pending entry exists before the frame is written.
      this.running.set(entry.sessionId, entry)
      const message = buildTaskRequest({
        clientType: 'constellation',
        clientId,
        targetId: deviceId,
        sessionId: entry.sessionId,
        taskName: entry.taskName,
        request: entry.request,
        metadata: entry.metadata
      })
      this.#host.emit('taskSent', { taskId: entry.taskId, sessionId: entry.sessionId, deviceId })
      protocol.send(message).catch((err: unknown) => {
        this.settle(entry, 'disconnected', new DeviceDisconnectedError(deviceId, `task ${entry.taskId}`, 'the TASK could not be sent', { cause: err }))
      })
    }
    this.#owner.activityChanged()
  }

  /** The one way a task ends: first call wins, later ones are ignored. */
  settle (entry: TaskEntry, outcome: TaskOutcome, value: TaskResult | unknown): boolean {
    if (entry.settled) return false
    entry.settled = true
    clearTimeout(entry.timer)
    if (entry.onAbort !== undefined) entry.signal?.removeEventListener('abort', entry.onAbort)
    if (entry.phase === 'queued') {
      const at = this.queued.indexOf(entry)
      if (at !== -1) this.queued.splice(at, 1)
    } else if (this.running.get(entry.sessionId) === entry) {
      this.running.delete(entry.sessionId)
    }
    const { deviceId } = this.#owner
    const failed = outcome !== 'completed' && outcome !== 'failed'
    this.#host.log[failed ? 'info' : 'debug']({ deviceId, taskId: entry.taskId, sessionId: entry.sessionId, outcome, phase: entry.phase }, 'task ended')
    this.#host.emit('taskEnd', {
      taskId: entry.taskId,
      sessionId: entry.sessionId,
      deviceId,
      outcome,
      ...(failed ? { error: value } : {})
    })
    if (failed) entry.reject(value)
    else entry.resolve(value as TaskResult)
    if (!this.#owner.removed) this.pump()
    return true
  }

  /** Rejects every running task with `AIP_ERR_CONSTELLATION_DEVICE_DISCONNECTED` (`reason` in the message). */
  failRunning (reason: string): void {
    for (const entry of [...this.running.values()]) {
      this.settle(entry, 'disconnected', new DeviceDisconnectedError(this.#owner.deviceId, `task ${entry.taskId}`, reason))
    }
  }

  /** Rejects every queued task, with `AIP_ERR_CONSTELLATION_DEVICE_DISCONNECTED` unless `error` says otherwise. */
  failQueued (reason: string, outcome: TaskOutcome, error?: (entry: TaskEntry) => unknown): void {
    for (const entry of [...this.queued]) {
      this.settle(entry, outcome, error?.(entry) ?? new DeviceDisconnectedError(this.#owner.deviceId, `task ${entry.taskId}`, reason))
    }
  }

  /** Ends every task, running and queued, with `outcome` and the error `error` builds. */
  settleAll (outcome: TaskOutcome, error: (entry: TaskEntry) => unknown): void {
    for (const entry of [...this.running.values(), ...this.queued]) this.settle(entry, outcome, error(entry))
  }
}
