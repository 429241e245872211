import { SpanKind, TRACEPARENT, activeTraceparent, parseTraceparent, startTraceSpan, type AIPProtocol } from '@aip/endpoint'
import { buildTaskRequest, type ContinuityGrant } from '@aip/protocol'
import { TimeoutError } from '@aip/resilience'
import { CancelledSlots } from './cancelled-slots.js'
import { granted, withTimeLeft } from './continuity.js'
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
  /** The trace id the TASK carries (in its `traceparent`), for the logs; `undefined` when it carries none. */
  readonly traceId: string | undefined
  /** When the task's deadline passes (ms since the epoch). */
  readonly deadlineAt: number
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
  /** What the server granted at the registration of the device's current (or last) connection. */
  readonly grant: ContinuityGrant | null
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
  /** Slots of sent tasks cancelled on a server that granted `cancel`, until it confirms the end. */
  readonly cancelled: CancelledSlots
  readonly #host: ConstellationHost
  readonly #owner: QueueOwner

  constructor (host: ConstellationHost, owner: QueueOwner) {
    this.#host = host
    this.#owner = owner
    this.cancelled = new CancelledSlots(host, {
      deviceId: owner.deviceId,
      clientId: owner.clientId,
      get sendable () { return owner.sendable },
      released: () => { if (!owner.removed) this.pump() }
    })
  }

  /** Whether a task with this session id is queued or running (or cancelled, its end not yet confirmed). */
  has (sessionId: string): boolean {
    return this.running.has(sessionId) || this.cancelled.has(sessionId) || this.queued.some((entry) => entry.sessionId === sessionId)
  }

  /** Tasks holding a device slot: running, and cancelled ones whose end the server has not confirmed. */
  get busySlots (): number {
    return this.running.size + this.cancelled.size
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
        traceId: parent === null ? undefined : span.traceId,
        deadlineAt: Date.now() + timeoutMs,
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
    this.#host.log.debug({ deviceId: this.#owner.deviceId, taskId: entry.taskId, sessionId: entry.sessionId, traceId: entry.traceId, queued: this.queued.length }, 'task queued')
    this.pump()
  }

  /** Sends queued tasks while the device has room, then reports the activity. */
  pump (): void {
    const protocol = this.#owner.sendable
    if (protocol === undefined || this.#owner.removed) return
    while (this.busySlots < this.#host.options.maxConcurrentTasks && this.queued.length > 0) {
      const entry = this.queued.shift() as TaskEntry
      // The pending entry exists before the frame is written.
      this.running.set(entry.sessionId, entry)
      this.#write(entry, protocol, false)
    }
    this.#owner.activityChanged()
  }

  /**
   * The device resumed on `protocol` (continuity `resume`): every task sent and not ended is written again there, in
   * the order it was first sent, as its TASK with the same session id; its ack is awaited again.
   */
  resend (protocol: AIPProtocol<'client'>): number {
    const entries = [...this.running.values()]
    for (const entry of entries) this.#write(entry, protocol, true)
    return entries.length
  }

  /** Writes the TASK of a running task on `protocol` (with the time left of its deadline under `deadline`). */
  #write (entry: TaskEntry, protocol: AIPProtocol<'client'>, resent: boolean): void {
    const { deviceId, clientId } = this.#owner
    entry.phase = 'sent'
    entry.connection = protocol
    const metadata = granted(this.#owner.grant, 'deadline') ? withTimeLeft(entry.metadata, entry.deadlineAt - Date.now()) : entry.metadata
    const message = buildTaskRequest({
      clientType: 'constellation',
      clientId,
      targetId: deviceId,
      sessionId: entry.sessionId,
      taskName: entry.taskName,
      request: entry.request,
      metadata
    })
    this.#host.log.debug({ deviceId, taskId: entry.taskId, sessionId: entry.sessionId, traceId: entry.traceId, resent }, 'task sent')
    this.#host.emit('taskSent', { taskId: entry.taskId, sessionId: entry.sessionId, deviceId, ...(resent ? { resent } : {}) })
    protocol.send(message).catch((err: unknown) => {
      // The link dropped under the write: with `resume` granted the task stays running, held with the others, and is
      // written again if the session resumes (or fails with them; its own deadline bounds it in any case).
      if (granted(this.#owner.grant, 'resume') && !this.#owner.removed && this.running.get(entry.sessionId) === entry) {
        this.#host.log.debug({ deviceId, taskId: entry.taskId, sessionId: entry.sessionId, traceId: entry.traceId }, 'TASK not written: the link dropped; it waits for the resume')
        return
      }
      this.settle(entry, 'disconnected', new DeviceDisconnectedError(deviceId, `task ${entry.taskId}`, 'the TASK could not be sent', { cause: err }))
    })
  }

  /** The one way a task ends: first call wins, later ones are ignored. */
  settle (entry: TaskEntry, outcome: TaskOutcome, value: TaskResult | unknown): boolean {
    if (entry.settled) return false
    entry.settled = true
    clearTimeout(entry.timer)
    if (entry.onAbort !== undefined) entry.signal?.removeEventListener('abort', entry.onAbort)
    let holdSlot = false
    if (entry.phase === 'queued') {
      const at = this.queued.indexOf(entry)
      if (at !== -1) this.queued.splice(at, 1)
    } else if (this.running.get(entry.sessionId) === entry) {
      this.running.delete(entry.sessionId)
      // Aborted or timed out after it was sent: the server still runs it until it processed the cancel.
      holdSlot = (outcome === 'cancelled' || outcome === 'timed_out') && granted(this.#owner.grant, 'cancel')
      // Taken before anyone hears of the end: a listener sending a task at once cannot get the slot.
      if (holdSlot) this.cancelled.hold(entry, outcome === 'cancelled' ? 'aborted' : 'timed out')
    }
    const { deviceId } = this.#owner
    const failed = outcome !== 'completed' && outcome !== 'failed'
    this.#host.log[failed ? 'info' : 'debug']({ deviceId, taskId: entry.taskId, sessionId: entry.sessionId, traceId: entry.traceId, outcome, phase: entry.phase }, 'task settled')
    this.#host.emit('taskEnd', {
      taskId: entry.taskId,
      sessionId: entry.sessionId,
      deviceId,
      outcome,
      ...(failed ? { error: value } : {})
    })
    if (failed) entry.reject(value)
    else entry.resolve(value as TaskResult)
    // Its cancel goes out after the caller learnt the outcome.
    if (holdSlot) this.cancelled.send(entry.sessionId)
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

  /** Ends every task, running and queued, with `outcome` and the error `error` builds; frees every slot. */
  settleAll (outcome: TaskOutcome, error: (entry: TaskEntry) => unknown): void {
    for (const entry of [...this.running.values(), ...this.queued]) this.settle(entry, outcome, error(entry))
    this.cancelled.releaseAll(outcome === 'stopped' ? 'stopped' : 'disconnected')
  }
}
