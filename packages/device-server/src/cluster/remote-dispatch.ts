import { buildTaskEnd, encodeServerMessage, newId, sanitizeTaskName } from '@aip/protocol'
import { checkDispatch, dispatchHere, withdrawDispatch } from '../dispatch.js'
import {
  ClientNotConnectedError, ClusterUnavailableError, RequestTooLargeError, ServerDrainingError, ServerStoppedError, SessionCancelledError,
  TooManyDispatchesError
} from '../errors.js'
import type { TaskRecord } from '../results.js'
import { Texts } from '../texts.js'
import type { DispatchInfo, DispatchOptions, DispatchedTask } from '../types.js'
import { sendToDevice } from './forward.js'
import type { ClusterDispatchCancelMessage, ClusterDispatchMessage, DispatchErrorInfo, DispatchNoticeMessage, HolderSendOutcome } from './link.js'
import { PROBE_MARGIN_MS } from './registration.js'
import type { ClusterRuntime } from './runtime.js'

/*
 * `dispatch()` for a device connected to another node. The dispatching node (B) puts a `dispatch` in the device's
 * mailbox (the device looked up in the same step: only a device held by another node gets it) and waits for the
 * device's node (A) to accept it: A dispatches it as its own (same checks, same server TASK, the agent runs on A) and
 * tells B in B's node mailbox: `accepted`, `started` (the device took it up), `ended` (the record, or the error). B's
 * `dispatch()` resolves at `accepted` (or rejects with A's refusal: not connected, too many dispatches, draining...),
 * its `done` settles at `ended`, like a local one. B keeps the deadline and the signal: at either, `done` rejects and
 * a `dispatch_cancel` follows the dispatch in the device's mailbox. A node found lost ends its dispatches on B once,
 * with the node-lost text.
 */

/** A dispatch of this node to a device on another node, until it ends. */
interface OutgoingDispatch {
  readonly sessionId: string
  readonly taskName: string
  readonly request: string
  readonly deviceId: string
  /**
   * The node running it (the device's node; the one that accepted it, once accepted); `''` while the dispatch is on
   * its way to the device's mailbox.
   */
  nodeId: string
  /** Settles once the dispatch was appended to the device's mailbox, or not (its cancel waits for it). */
  readonly sending: Promise<void>
  /** Milliseconds since the epoch (this node's clock). */
  readonly startedAt: number
  /** The device's node accepted it: `dispatch()` has resolved. */
  accepted: boolean
  /** The device took it up (its session runs on its node). */
  running: boolean
  readonly task: DispatchedTask
  readonly admit: { resolve: (task: DispatchedTask) => void, reject: (err: Error) => void }
  readonly settle: { resolve: (record: TaskRecord) => void, reject: (err: Error) => void }
  /** The wait for the device's node to accept it. */
  admission: NodeJS.Timeout | null
  /** Releases its deadline and its signal. */
  release: () => void
}

/** A dispatch of another node run here, for its device, by session id. */
interface ServedDispatch {
  readonly origin: string
  readonly deviceId: string
  running: boolean
}

/** Both sides of cross-node dispatches of one server: those it sent, and those it runs for other nodes. */
export class RemoteDispatches {
  readonly #runtime: ClusterRuntime
  readonly #outgoing = new Map<string, OutgoingDispatch>()
  readonly #served = new Map<string, ServedDispatch>()

  constructor (runtime: ClusterRuntime) {
    this.#runtime = runtime
    runtime.core.events.on('sessionStarted', ({ sessionId }) => {
      const served = this.#served.get(sessionId)
      if (served === undefined || served.running) return
      served.running = true
      this.#notify(served.origin, sessionId, 'started', null, null)
    })
  }

  // ----- The dispatching node -----

  /**
   * Dispatches to `deviceId`, which is not on this node: resolves once its node accepted the task. Rejects with
   * `AIP_ERR_CLUSTER_UNAVAILABLE` when the store cannot be reached (or the device's node does not answer in time),
   * and with the errors of a local dispatch otherwise.
   */
  async dispatch (deviceId: string, request: string, options: DispatchOptions): Promise<DispatchedTask> {
    const runtime = this.#runtime
    const { core, link } = runtime
    if (!runtime.ready) throw new ClusterUnavailableError('dispatch')
    const max = core.options.maxDispatchesPerDevice
    if (this.#count(deviceId) >= max) throw new TooManyDispatchesError(deviceId, max)
    const sessionId = newId()
    const taskName = sanitizeTaskName(options.taskName ?? sessionId)
    const timeoutMs = options.timeoutMs ?? core.options.dispatchTimeoutMs
    let admit!: OutgoingDispatch['admit']
    let settle!: OutgoingDispatch['settle']
    const admitted = new Promise<DispatchedTask>((resolve, reject) => { admit = { resolve, reject } })
    // Rejections of `admitted` reach the caller through the `await` below, or nobody waits any more.
    admitted.catch(() => {})
    const done = new Promise<TaskRecord>((resolve, reject) => { settle = { resolve, reject } })
    let markSent!: () => void
    const entry: OutgoingDispatch = {
      sessionId,
      taskName,
      request,
      deviceId,
      nodeId: '',
      sending: new Promise<void>((resolve) => { markSent = resolve }),
      startedAt: core.options.now(),
      accepted: false,
      running: false,
      task: { sessionId, taskName, done },
      admit,
      settle,
      admission: null,
      release: () => {}
    }
    this.#outgoing.set(sessionId, entry)
    entry.release = this.#bindLimits(entry, options, timeoutMs)
    done.then(entry.release, entry.release)
    const message: ClusterDispatchMessage = { kind: 'dispatch', sessionId, taskName, request, origin: link.nodeId, timeoutMs }
    // The device's lookup and the dispatch's append, in one step when the link can (one round trip, no lease read
    // back): only a device held by another node gets it.
    let outcome: HolderSendOutcome
    try {
      outcome = await sendToDevice(link, deviceId, message)
    } catch (err) {
      markSent()
      this.#end(entry, runtime.unavailable('dispatch', err))
      return await admitted
    }
    // A notice may have named the node first (the device's node answered before the store did).
    if (outcome.sent && entry.nodeId === '') entry.nodeId = outcome.nodeId
    markSent()
    // Ended while the store answered (aborted, timed out, the server stopping): the caller gets how it ended.
    if (this.#outgoing.get(sessionId) !== entry) return await admitted
    if (!outcome.sent) {
      // Nothing was sent: the dispatch ends here, its limits released.
      this.#end(entry, new ClientNotConnectedError(deviceId))
      // The device registered on this node while the store answered: dispatched here, as a local one.
      if (!runtime.isRemote(deviceId)) {
        checkDispatch(core, request, options.signal)
        return dispatchHere(core, deviceId, request, options, newId())
      }
      throw new ClientNotConnectedError(deviceId)
    }
    runtime.watch.ensure()
    core.logger.info({ sessionId, deviceId, nodeId: outcome.nodeId, taskName }, 'task dispatched to a device on another node')
    return await admitted
  }

  /** A notice of the node running one of this node's dispatches. */
  notice (message: DispatchNoticeMessage): void {
    const entry = this.#outgoing.get(message.sessionId)
    // Ended here already (its deadline, its node found lost): late news is dropped.
    if (entry === undefined) return
    if (message.phase === 'ended') {
      this.#end(entry, message.record ?? remoteError(message.error, entry))
      return
    }
    // The node that took it: the device may have registered on another node before its mailbox was read.
    entry.nodeId = message.from
    if (message.phase === 'started') entry.running = true
    this.#accept(entry)
  }

  /**
   * `cancelSession()` of a dispatch of this node running elsewhere: withdrawn there (its `done` settles as a local
   * one's: a failed record once taken up, `AIP_ERR_SERVER_SESSION_CANCELLED` before). False when none runs under this id.
   */
  cancel (sessionId: string, reason: string): boolean {
    const entry = this.#outgoing.get(sessionId)
    if (entry === undefined) return false
    this.#runtime.core.logger.info({ sessionId, reason, nodeId: entry.nodeId }, 'dispatched task on another node cancelled')
    this.#sendCancel(entry, reason)
    return true
  }

  /** The nodes running dispatches of this node (watched for loss). */
  * nodes (): IterableIterator<string> {
    for (const entry of this.#outgoing.values()) if (entry.nodeId !== '') yield entry.nodeId
  }

  /** This node's dispatches running on other nodes, oldest first. */
  list (): DispatchInfo[] {
    return [...this.#outgoing.values()].map((entry) => ({ deviceId: entry.deviceId, sessionId: entry.sessionId, taskName: entry.taskName, running: entry.running }))
  }

  /** `nodeId` was found lost: its dispatches end here, once, with TASK_END failed (the node-lost text). */
  nodeLost (nodeId: string): void {
    const { core, link } = this.#runtime
    for (const entry of [...this.#outgoing.values()]) {
      if (entry.nodeId !== nodeId) continue
      const text = encodeServerMessage(buildTaskEnd({ sessionId: entry.sessionId, status: 'failed', result: null, error: Texts.nodeLost }), { validate: false })
      const record: TaskRecord = {
        sessionId: entry.sessionId,
        taskName: entry.taskName,
        // As in a local dispatch: the device's own TASK runs it.
        requesterId: entry.deviceId,
        deviceId: entry.deviceId,
        request: entry.request,
        status: 'failed',
        error: Texts.nodeLost,
        result: null,
        startedAt: entry.startedAt,
        endedAt: core.options.now(),
        sizeBytes: text.length + entry.request.length
      }
      // If the node was only paused, or another node reads the device's mailbox next, the task goes no further.
      this.#sendCancel(entry, 'the server running it was lost')
      this.#end(entry, record)
      link.putResult(record).catch((err: unknown) => { core.logger.warn({ err, sessionId: record.sessionId }, 'cluster: result not stored') })
      core.logger.warn({ sessionId: entry.sessionId, deviceId: entry.deviceId, nodeId }, 'dispatched task ended: the node running it was lost')
      core.events.emit('taskEnd', record)
    }
  }

  /** The server stops: its dispatches on other nodes are withdrawn there and reject here (`AIP_ERR_SERVER_STOPPED`). */
  async stop (): Promise<void> {
    const entries = [...this.#outgoing.values()]
    const sent = entries.map(async (entry) => { await this.#sendCancel(entry, 'the dispatching server stopped') })
    for (const entry of entries) this.#end(entry, new ServerStoppedError())
    await Promise.all(sent)
    this.#served.clear()
  }

  #count (deviceId: string): number {
    let count = 0
    for (const entry of this.#outgoing.values()) if (entry.deviceId === deviceId) count++
    return count
  }

  #accept (entry: OutgoingDispatch): void {
    if (entry.accepted) return
    entry.accepted = true
    if (entry.admission !== null) clearTimeout(entry.admission)
    entry.admission = null
    entry.admit.resolve(entry.task)
  }

  /** Ends a dispatch here, once: its record (stored here too) or its error. */
  #end (entry: OutgoingDispatch, outcome: TaskRecord | Error): void {
    if (this.#outgoing.get(entry.sessionId) !== entry) return
    this.#outgoing.delete(entry.sessionId)
    if (entry.admission !== null) clearTimeout(entry.admission)
    entry.admission = null
    entry.release()
    if (outcome instanceof Error) {
      if (entry.accepted) entry.settle.reject(outcome)
      else {
        // Nobody holds `done` yet (the caller gets the error from `dispatch()`); it is observed by its release.
        entry.admit.reject(outcome)
        entry.settle.reject(outcome)
      }
      return
    }
    this.#runtime.core.options.results.put(outcome)
    entry.settle.resolve(outcome)
    this.#accept(entry)
  }

  /** The deadline, the signal, and the wait for the device's node to accept; returns what releases them. */
  #bindLimits (entry: OutgoingDispatch, options: DispatchOptions, timeoutMs: number): () => void {
    const { core } = this.#runtime
    const expire = (reason: string): void => {
      if (this.#outgoing.get(entry.sessionId) !== entry) return
      core.logger.info({ sessionId: entry.sessionId, reason, nodeId: entry.nodeId }, 'dispatched task on another node cancelled')
      this.#sendCancel(entry, reason)
      this.#end(entry, new SessionCancelledError(entry.sessionId, reason))
    }
    const onAbort = (): void => { expire('aborted') }
    options.signal?.addEventListener('abort', onAbort, { once: true })
    const timer = setTimeout(() => { expire('timed out') }, timeoutMs)
    timer.unref()
    // A node that holds the device but does not read its mailbox (its store link is down, it is dying): the caller
    // is told at once rather than at the deadline.
    entry.admission = setTimeout(() => {
      entry.admission = null
      if (entry.accepted || this.#outgoing.get(entry.sessionId) !== entry) return
      core.logger.warn({ sessionId: entry.sessionId, deviceId: entry.deviceId, nodeId: entry.nodeId }, 'cluster: the device\'s node did not take the dispatch in time')
      this.#sendCancel(entry, 'cancelled')
      this.#end(entry, new ClusterUnavailableError('dispatch'))
    }, core.options.takeoverProbeMs + PROBE_MARGIN_MS)
    entry.admission.unref()
    return () => {
      clearTimeout(timer)
      options.signal?.removeEventListener('abort', onAbort)
    }
  }

  /** Puts a `dispatch_cancel` in the device's mailbox, after the dispatch (errors are logged). */
  async #sendCancel (entry: OutgoingDispatch, reason: string): Promise<void> {
    // The dispatch is on its way: the cancel follows it, to the node that got it (none when it was not sent).
    if (entry.nodeId === '') await entry.sending
    if (entry.nodeId === '') return
    const message: ClusterDispatchCancelMessage = { kind: 'dispatch_cancel', sessionId: entry.sessionId, reason }
    await this.#runtime.link.send(entry.deviceId, message, entry.nodeId)
      .catch((err: unknown) => { this.#runtime.core.logger.warn({ err, sessionId: entry.sessionId }, 'cluster: cancel of a dispatch not sent') })
  }

  // ----- The device's node -----

  /** A dispatch of another node for a device of this node: dispatched here, its notices sent to its origin. */
  deliver (deviceId: string, message: ClusterDispatchMessage): void {
    const { core } = this.#runtime
    const { sessionId, origin } = message
    const served = this.#served.get(sessionId)
    if (served !== undefined) {
      // Handed over again (its entry was not acknowledged): answered again, never dispatched twice.
      this.#notify(origin, sessionId, served.running ? 'started' : 'accepted', null, null)
      return
    }
    const finished = core.options.results.getBySession(sessionId)
    if (finished !== undefined) {
      this.#notify(origin, sessionId, 'ended', finished, null)
      return
    }
    let task: DispatchedTask
    try {
      // The device left this node between the lookup and the delivery.
      if (this.#runtime.isRemote(deviceId)) throw new ClientNotConnectedError(deviceId)
      checkDispatch(core, message.request)
      task = dispatchHere(core, deviceId, message.request, { taskName: message.taskName, timeoutMs: message.timeoutMs }, sessionId)
    } catch (err) {
      core.logger.info({ sessionId, deviceId, origin, code: (err as { code?: string }).code }, 'dispatch of another node refused')
      this.#notify(origin, sessionId, 'ended', null, errorInfo(core.options, err))
      return
    }
    const entry: ServedDispatch = { origin, deviceId, running: core.sessions.get(sessionId) !== undefined }
    this.#served.set(sessionId, entry)
    this.#notify(origin, sessionId, 'accepted', null, null)
    task.done.then(
      (record) => { this.#notify(origin, sessionId, 'ended', record, null) },
      (err: unknown) => { this.#notify(origin, sessionId, 'ended', null, errorInfo(core.options, err)) }
    ).finally(() => { if (this.#served.get(sessionId) === entry) this.#served.delete(sessionId) })
  }

  /** A dispatching node withdrew one of its dispatches run here. */
  deliverCancel (message: ClusterDispatchCancelMessage): void {
    const served = this.#served.get(message.sessionId)
    if (served === undefined) return
    withdrawDispatch(this.#runtime.core, served.deviceId, message.sessionId, message.reason)
  }

  #notify (origin: string, sessionId: string, phase: DispatchNoticeMessage['phase'], record: TaskRecord | null, error: DispatchErrorInfo | null): void {
    const { link, core } = this.#runtime
    link.sendToNode(origin, { kind: 'dispatch_notice', sessionId, from: link.nodeId, phase, record, error })
      .catch((err: unknown) => { core.logger.warn({ err, sessionId, origin, phase }, 'cluster: dispatch notice not sent (the dispatching node ends it at its deadline)') })
  }
}

/** What a notice carries of an error met on the device's node. */
function errorInfo (options: { maxDispatchesPerDevice: number, maxRequestBytes: number }, err: unknown): DispatchErrorInfo {
  const code = typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : 'AIP_ERR_UNKNOWN'
  return {
    code,
    reason: err instanceof SessionCancelledError ? err.reason : null,
    limit: code === 'AIP_ERR_SERVER_TOO_MANY_DISPATCHES'
      ? options.maxDispatchesPerDevice
      : code === 'AIP_ERR_SERVER_REQUEST_TOO_LARGE' ? options.maxRequestBytes : null
  }
}

/** The error a dispatch of this node gets from what its device's node met (the same codes as a local dispatch). */
function remoteError (info: DispatchErrorInfo | null, entry: OutgoingDispatch): Error {
  switch (info?.code) {
    case 'AIP_ERR_SERVER_SESSION_CANCELLED': return new SessionCancelledError(entry.sessionId, info.reason ?? 'cancelled')
    case 'AIP_ERR_SERVER_TOO_MANY_DISPATCHES': return new TooManyDispatchesError(entry.deviceId, info.limit ?? 0)
    case 'AIP_ERR_SERVER_REQUEST_TOO_LARGE': return new RequestTooLargeError(info.limit ?? 0)
    case 'AIP_ERR_SERVER_DRAINING': return new ServerDrainingError()
    // Not connected there, or its server stopped (the device is gone from it): the device is not connected.
    case 'AIP_ERR_SERVER_CLIENT_NOT_CONNECTED':
    case 'AIP_ERR_SERVER_STOPPED':
      return new ClientNotConnectedError(entry.deviceId)
  }
  return new ClusterUnavailableError('dispatch')
}
