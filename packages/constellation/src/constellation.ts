import {
  AIPEndpoint, AIPProtocol, SpanKind, TRACEPARENT, activeTraceparent, childLogger, classifyFailure, parseTraceparent, register,
  startTraceSpan, type CloseInfo, type FailureFacts, type FailureReason, type FailureVerdict, type Logger
} from '@aip/endpoint'
import {
  buildConstellationRegistration, buildDeviceInfoRequest, buildHeartbeat, buildTaskRequest, constellationClientId,
  constellationSessionId, newId, type DecodedServerMessage
} from '@aip/protocol'
import { AbortedError, TimeoutError, type ReconnectableEndpoint, type Unsubscribe } from '@aip/resilience'
import {
  DeviceDisconnectedError, DeviceInfoRefusedError, InvalidArgumentError, NotConnectedError, QueueFullError,
  RegistrationRefusedError, RegistrationTimeoutError, StoppedError, TaskAbortedError, TaskRefusedError,
  UnknownDeviceError, connectError
} from './errors.js'
import {
  resolveOptions, resolveProfile, timeoutArgument, type ConstellationOptions, type ResolvedConstellationOptions,
  type ResolvedProfile
} from './options.js'
import { ServerLink, type Beating } from './server-link.js'
import type {
  AgentProfile, ConstellationEvents, DeviceSnapshot, DeviceStatus, MessageContext, TaskOutcome, TaskPhase, TaskRequest,
  TaskResult
} from './types.js'

/** How long `disconnectDevice` and `stop` wait for a close handshake before dropping the socket. */
const CLOSE_GRACE_MS = 2000

/** One connection of a device (a device has at most one established at a time). */
interface Connection extends Beating {
  readonly protocol: AIPProtocol<'client'>
  /** Registered, and attached to its device. */
  established: boolean
  /** Closed on purpose (disconnectDevice, stop): no recovery. */
  closing: boolean
  /** The first frame (the registration answer) was seen. */
  sawFirst: boolean
  firstAnswer: DecodedServerMessage | undefined
  awaitingHeartbeat: boolean
  missedHeartbeats: number
  subscriptions: Unsubscribe[]
}

interface TaskEntry {
  readonly taskId: string
  readonly sessionId: string
  readonly taskName: string
  readonly request: string
  readonly metadata: Record<string, unknown> | null
  readonly device: Device
  phase: TaskPhase
  settled: boolean
  connection: Connection | undefined
  timer: NodeJS.Timeout | undefined
  readonly signal: AbortSignal | undefined
  onAbort: (() => void) | undefined
  resolve: (result: TaskResult) => void
  reject: (error: unknown) => void
}

interface InfoEntry {
  readonly requestId: string
  readonly connection: Connection
  settled: boolean
  settle: (error: unknown, result?: Record<string, unknown> | null) => void
}

interface Device {
  profile: ResolvedProfile
  link: ServerLink
  readonly deviceId: string
  readonly clientId: string
  status: DeviceStatus
  connection: Connection | undefined
  readonly queue: TaskEntry[]
  /** Sent tasks by session id. */
  readonly running: Map<string, TaskEntry>
  readonly infos: Map<string, InfoEntry>
  /** A connection attempt in flight, joined by concurrent callers. */
  attempt: Promise<void> | undefined
  attemptAbort: AbortController | undefined
  /** The reconnection loop in flight. */
  recovery: AbortController | undefined
  lastError: unknown
  /** What is known of the last failed attempt, for `classifyFailure`. */
  lastFacts: Omit<FailureFacts, 'firstConnection'>
  /** When the server first refused this client id as already registered, in this run of refusals. */
  conflictSince: number | undefined
  /** Why retrying stopped, when a failure could not heal. */
  failure: FailureReason | undefined
  removed: boolean
  connections: number
  lastHeartbeatAt: number | null
}

/**
 * The AIP orchestrator: connects to devices through one or many device-agent servers, sends them tasks, and
 * knows the fate of every task. It works against `@aip/device-server` and against the Python reference server.
 *
 * Each device gets its own WebSocket, registered as `<taskName>@<deviceId>` and scoped to the device (the
 * reference identity); devices behind one server share that server's heartbeat timer, reconnection strategy,
 * parsed URL and logger. Tasks go through a FIFO queue per device and end exactly once.
 *
 * @example
 * ```ts
 * const constellation = new ConstellationEndpoint({ taskName: 'galaxy_task' })
 * await constellation.connectToDevice({ deviceId: 'dev1', serverUrl: 'ws://127.0.0.1:5000/ws?token=secret' })
 * const end = await constellation.sendTaskToDevice('dev1', { request: 'Open Notepad', taskId: 't1' })
 * console.log(end.status, end.result)
 * await constellation.stop()
 * ```
 */
export class ConstellationEndpoint extends AIPEndpoint<'client', ConstellationEvents> {
  /** The validated, frozen options of the constellation. */
  readonly config: ResolvedConstellationOptions
  readonly #log: Logger
  readonly #devices = new Map<string, Device>()
  readonly #links = new Map<string, ServerLink>()
  #stopped = false

  /**
   * @throws `AIP_ERR_CONSTELLATION_INVALID_OPTION` when an option is missing or out of range
   */
  constructor (options: ConstellationOptions) {
    const config = resolveOptions(options)
    super('client', { logger: config.logger })
    this.config = config
    this.#log = childLogger(config.logger, { component: 'aip-constellation', taskName: config.taskName })
  }

  /** The orchestrator's task name. */
  get taskName (): string {
    return this.config.taskName
  }

  /** Nothing to start: connections are opened by `connectToDevice`. Refused after `stop()`. */
  async start (): Promise<void> {
    if (this.#stopped) throw new StoppedError()
    this.#log.info({}, 'constellation endpoint started')
  }

  /**
   * Sees every incoming message before the endpoint handles it: runs the `messageProcessor`. A subclass may
   * override it (and call `super.handleMessage`). Errors are logged by the caller and never stop processing.
   */
  async handleMessage (message: DecodedServerMessage, key: MessageContext | string = { deviceId: '' }): Promise<void> {
    const context = typeof key === 'string' ? { deviceId: key } : key
    const processor = this.config.messageProcessor
    if (processor === undefined) return
    if (typeof processor === 'function') await processor(message, context)
    else await processor.processMessage(message, context)
  }

  /** True while at least one device has an open, registered connection. */
  override isConnected (): boolean {
    for (const device of this.#devices.values()) if (this.isDeviceConnected(device.deviceId)) return true
    return false
  }

  /** True while the device has an open, registered connection. */
  isDeviceConnected (deviceId: string): boolean {
    const connection = this.#devices.get(deviceId)?.connection
    return connection !== undefined && connection.established && connection.protocol.isOpen
  }

  /** A snapshot of a device, or `undefined` when unknown. */
  getDevice (deviceId: string): DeviceSnapshot | undefined {
    const device = this.#devices.get(deviceId)
    return device === undefined ? undefined : snapshot(device)
  }

  /** Snapshots of every known device. */
  listDevices (): DeviceSnapshot[] {
    return [...this.#devices.values()].map(snapshot)
  }

  // ---------------------------------------------------------------------------------------------------------
  // Connections

  /**
   * Connects to a device through its server and registers as `<taskName>@<deviceId>` with `target_id` set to the
   * device. Resolves once registered. Calling it for a device already connected (or connecting) to the same
   * server joins that connection; a failed or disconnected device is connected again with the new profile.
   *
   * @throws (rejects) `AIP_ERR_CONSTELLATION_CONNECT` (with `httpStatus` on a refused upgrade),
   * `AIP_ERR_CONSTELLATION_REGISTRATION_REFUSED` (an ERROR answer, at once), `AIP_ERR_CONSTELLATION_REGISTRATION_TIMEOUT`,
   * `AIP_ERR_CONSTELLATION_INVALID_ARGUMENT`, `AIP_ERR_CONSTELLATION_STOPPED`. The device is then in state `failed`.
   */
  async connectToDevice (agentProfile: AgentProfile): Promise<void> {
    if (this.#stopped) throw new StoppedError()
    const { profile, url } = resolveProfile(agentProfile)
    let device = this.#devices.get(profile.deviceId)
    if (device !== undefined) {
      const active = device.status !== 'failed' && device.status !== 'disconnected'
      if (active && device.profile.serverUrl !== profile.serverUrl) {
        throw new InvalidArgumentError('agentProfile', `device ${profile.deviceId} is already connected through another server`)
      }
      if (this.isDeviceConnected(profile.deviceId)) return
      if (device.attempt !== undefined) return await device.attempt
      device.recovery?.abort(new AbortedError(`reconnection of ${profile.deviceId}`))
      this.#setProfile(device, profile, url)
    } else {
      const link = this.#linkFor(url)
      device = {
        profile,
        link,
        deviceId: profile.deviceId,
        clientId: constellationClientId(this.config.taskName, profile.deviceId),
        status: 'disconnected',
        connection: undefined,
        queue: [],
        running: new Map(),
        infos: new Map(),
        attempt: undefined,
        attemptAbort: undefined,
        recovery: undefined,
        lastError: undefined,
        lastFacts: {},
        conflictSince: undefined,
        failure: undefined,
        removed: false,
        connections: 0,
        lastHeartbeatAt: null
      }
      link.devices.add(device.deviceId)
      this.#devices.set(device.deviceId, device)
    }
    try {
      await this.#connect(device)
    } catch (err) {
      if (!device.removed && !this.#stopped && !this.isDeviceConnected(device.deviceId)) this.#giveUp(device, err)
      throw err
    }
  }

  /**
   * Hook (`ReconnectableEndpoint`): one attempt to reconnect a known device with its profile. Resolves `true` once
   * registered (queued tasks then start), `false` on failure. The automatic reconnection calls it after each
   * backoff; call it yourself to revive a device in state `failed`.
   */
  override async reconnectDevice (deviceId: string, options: { signal?: AbortSignal } = {}): Promise<boolean> {
    const device = this.#devices.get(deviceId)
    if (device === undefined || device.removed || this.#stopped) return false
    if (this.isDeviceConnected(deviceId)) return true
    try {
      await this.#connect(device, options.signal)
      return true
    } catch (err) {
      device.lastError = err
      device.link.log.warn({ err, deviceId }, 'reconnection attempt failed')
      if (device.recovery === undefined && device.status !== 'failed') this.#giveUp(device, err)
      return false
    }
  }

  /**
   * Hook: the device's connection is gone. Default: emits `deviceDisconnected`. Called after
   * `cancelDeviceTasks` and before the reconnection, in the reference order. Override it and call `super`.
   */
  override async onDeviceDisconnected (deviceId: string): Promise<void> {
    this.#log.warn({ deviceId }, 'device disconnected from the constellation')
    await super.onDeviceDisconnected(deviceId)
  }

  /**
   * Hook: rejects the device's running tasks with `AIP_ERR_CONSTELLATION_DEVICE_DISCONNECTED` (`reason` in the
   * message); queued tasks stay queued unless `keepQueueWhileReconnecting` is false. If an override does not call
   * `super`, the endpoint still rejects the running tasks right after it returns: no task is left pending.
   */
  override async cancelDeviceTasks (deviceId: string, reason: string): Promise<void> {
    const device = this.#devices.get(deviceId)
    if (device === undefined) return
    this.#failRunning(device, reason)
    if (!this.config.keepQueueWhileReconnecting) this.#failQueued(device, reason, 'disconnected')
  }

  /**
   * Closes the device's connection on purpose (no reconnection), rejects its queued and running tasks with
   * `AIP_ERR_CONSTELLATION_DEVICE_DISCONNECTED`, and forgets the device. No effect on an unknown device.
   */
  async disconnectDevice (deviceId: string): Promise<void> {
    const device = this.#devices.get(deviceId)
    if (device === undefined) return
    await this.#remove(device, (entry) => new DeviceDisconnectedError(deviceId, `task ${entry.taskId}`, 'disconnected by the caller'), 'disconnected')
  }

  /**
   * Stops the endpoint: every device is disconnected, every pending task and request rejects with
   * `AIP_ERR_CONSTELLATION_STOPPED`, reconnections are abandoned, timers cleared and listeners removed.
   */
  override async stop (code = 1000, reason = ''): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    await Promise.all([...this.#devices.values()].map((device) => this.#remove(device, () => new StoppedError(), 'stopped', code, reason)))
    for (const link of this.#links.values()) link.dispose()
    this.#links.clear()
    this.#log.info({}, 'constellation endpoint stopped')
    await super.stop(code, reason)
  }

  // ---------------------------------------------------------------------------------------------------------
  // Tasks

  /**
   * Queues a task for a device and resolves with its TASK_END (read `status`: `completed` or `failed`). The TASK
   * carries the session id `<taskName>@<taskId>`; only the TASK_END of that session on that device's connection
   * ends it. Tasks of a device are sent in FIFO order, `maxConcurrentTasks` at a time.
   *
   * @throws (rejects) `AIP_ERR_CONSTELLATION_TASK_REFUSED` (a correlated ERROR, at once), `AIP_ERR_RESILIENCE_TIMEOUT`
   * (`TimeoutError`), `AIP_ERR_CONSTELLATION_TASK_ABORTED`, `AIP_ERR_CONSTELLATION_DEVICE_DISCONNECTED`,
   * `AIP_ERR_CONSTELLATION_NOT_CONNECTED`, `AIP_ERR_CONSTELLATION_UNKNOWN_DEVICE`, `AIP_ERR_CONSTELLATION_QUEUE_FULL`,
   * `AIP_ERR_CONSTELLATION_INVALID_ARGUMENT`, `AIP_ERR_CONSTELLATION_STOPPED`
   */
  sendTaskToDevice (deviceId: string, taskRequest: TaskRequest): Promise<TaskResult> {
    try {
      return this.#enqueue(deviceId, taskRequest)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  #enqueue (deviceId: string, taskRequest: TaskRequest): Promise<TaskResult> {
    if (this.#stopped) throw new StoppedError()
    if (typeof taskRequest !== 'object' || taskRequest === null) throw new InvalidArgumentError('taskRequest', 'expected an object')
    const { request, signal } = taskRequest
    if (typeof request !== 'string' || request === '') throw new InvalidArgumentError('request', 'expected a non-empty string')
    const taskId = taskRequest.taskId ?? newId()
    if (typeof taskId !== 'string' || taskId === '') throw new InvalidArgumentError('taskId', 'expected a non-empty string')
    const taskName = taskRequest.taskName ?? `galaxy/${this.config.taskName}/${taskId}`
    if (typeof taskName !== 'string' || taskName === '') throw new InvalidArgumentError('taskName', 'expected a non-empty string')
    const timeoutMs = timeoutArgument('timeoutMs', taskRequest.timeoutMs) ?? this.config.taskTimeoutMs
    const device = this.#devices.get(deviceId)
    if (device === undefined) throw new UnknownDeviceError(deviceId)
    if (!this.#accepting(device)) throw new NotConnectedError(deviceId)
    const sessionId = constellationSessionId(this.config.taskName, taskId)
    if (device.running.has(sessionId) || device.queue.some((entry) => entry.sessionId === sessionId)) {
      throw new InvalidArgumentError('taskId', `task ${taskId} is already pending on device ${deviceId}`)
    }
    if (device.queue.length >= this.config.maxQueuedTasks) throw new QueueFullError(deviceId, this.config.maxQueuedTasks)
    if (signal?.aborted === true) throw new TaskAbortedError(taskId, { cause: signal.reason })
    // The task's span, under a `traceparent` the caller put in the metadata or its active span (an OpenTelemetry
    // SDK runs). Only then does the TASK carry one, in `metadata.traceparent` (a key the reference server
    // ignores): otherwise the TASK is the reference's, byte for byte.
    const given = taskRequest.metadata?.[TRACEPARENT]
    const parent = typeof given === 'string' && parseTraceparent(given) !== null ? given : activeTraceparent()
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
        metadata: parent === null ? (taskRequest.metadata ?? null) : { ...taskRequest.metadata, [TRACEPARENT]: span.traceparent },
        device,
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
        this.#settle(entry, 'timed_out', new TimeoutError(`task ${taskId} on device ${deviceId}`, timeoutMs))
      }, timeoutMs)
      entry.timer.unref()
      if (signal !== undefined) {
        entry.onAbort = () => this.#settle(entry, 'cancelled', new TaskAbortedError(taskId, { cause: signal.reason }))
        signal.addEventListener('abort', entry.onAbort, { once: true })
      }
      device.queue.push(entry)
      this.#log.debug({ deviceId, taskId, sessionId, queued: device.queue.length }, 'task queued')
      this.#pump(device)
    })
  }

  /** Whether a device takes new tasks: connected or connecting, or reconnecting with the queue kept. */
  #accepting (device: Device): boolean {
    if (device.removed) return false
    if (device.status === 'failed') return false
    if (device.status === 'disconnected') {
      return device.recovery !== undefined && this.config.keepQueueWhileReconnecting
    }
    return true
  }

  /** Sends queued tasks while the device has room, then updates `busy` / `idle`. */
  #pump (device: Device): void {
    const connection = device.connection
    if (connection === undefined || !connection.established || !connection.protocol.isOpen || device.removed) return
    while (device.running.size < this.config.maxConcurrentTasks && device.queue.length > 0) {
      const entry = device.queue.shift() as TaskEntry
      entry.phase = 'sent'
      entry.connection = connection
      // The pending entry exists before the frame is written.
      device.running.set(entry.sessionId, entry)
      const message = buildTaskRequest({
        clientType: 'constellation',
        clientId: device.clientId,
        targetId: device.deviceId,
        sessionId: entry.sessionId,
        taskName: entry.taskName,
        request: entry.request,
        metadata: entry.metadata
      })
      this.events.emit('taskSent', { taskId: entry.taskId, sessionId: entry.sessionId, deviceId: device.deviceId })
      connection.protocol.send(message).catch((err: unknown) => {
        this.#settle(entry, 'disconnected', new DeviceDisconnectedError(device.deviceId, `task ${entry.taskId}`, 'the TASK could not be sent', { cause: err }))
      })
    }
    this.#updateActivity(device)
  }

  #updateActivity (device: Device): void {
    if (device.status !== 'connected' && device.status !== 'busy' && device.status !== 'idle') return
    this.#transition(device, device.running.size > 0 ? 'busy' : 'idle')
  }

  /** The one way a task ends: first call wins, later ones are ignored. */
  #settle (entry: TaskEntry, outcome: TaskOutcome, value: TaskResult | unknown): boolean {
    if (entry.settled) return false
    entry.settled = true
    clearTimeout(entry.timer)
    if (entry.onAbort !== undefined) entry.signal?.removeEventListener('abort', entry.onAbort)
    const device = entry.device
    if (entry.phase === 'queued') {
      const at = device.queue.indexOf(entry)
      if (at !== -1) device.queue.splice(at, 1)
    } else if (device.running.get(entry.sessionId) === entry) {
      device.running.delete(entry.sessionId)
    }
    const failed = outcome !== 'completed' && outcome !== 'failed'
    this.#log[failed ? 'info' : 'debug']({ deviceId: device.deviceId, taskId: entry.taskId, sessionId: entry.sessionId, outcome, phase: entry.phase }, 'task ended')
    this.events.emit('taskEnd', {
      taskId: entry.taskId,
      sessionId: entry.sessionId,
      deviceId: device.deviceId,
      outcome,
      ...(failed ? { error: value } : {})
    })
    if (failed) entry.reject(value)
    else entry.resolve(value as TaskResult)
    if (!device.removed) this.#pump(device)
    return true
  }

  #failRunning (device: Device, reason: string): void {
    for (const entry of [...device.running.values()]) {
      this.#settle(entry, 'disconnected', new DeviceDisconnectedError(device.deviceId, `task ${entry.taskId}`, reason))
    }
  }

  #failQueued (device: Device, reason: string, outcome: TaskOutcome, error?: (entry: TaskEntry) => unknown): void {
    for (const entry of [...device.queue]) {
      this.#settle(entry, outcome, error?.(entry) ?? new DeviceDisconnectedError(device.deviceId, `task ${entry.taskId}`, reason))
    }
  }

  #failInfos (device: Device, error: () => unknown): void {
    for (const info of [...device.infos.values()]) info.settle(error())
  }

  // ---------------------------------------------------------------------------------------------------------
  // Device info

  /**
   * Asks the device's server for the device's information (DEVICE_INFO_REQUEST, correlated by `request_id`), and
   * resolves with the answer's `result` (the reference server answers `{ error: '... not found ...' }` when it has
   * none).
   *
   * @throws (rejects) `AIP_ERR_CONSTELLATION_DEVICE_INFO_REFUSED` (an ERROR with the request's id, or the only
   * request waiting on the connection), `AIP_ERR_RESILIENCE_TIMEOUT`, `AIP_ERR_RESILIENCE_ABORTED`,
   * `AIP_ERR_CONSTELLATION_NOT_CONNECTED`, `AIP_ERR_CONSTELLATION_UNKNOWN_DEVICE`, `AIP_ERR_CONSTELLATION_DEVICE_DISCONNECTED`
   */
  requestDeviceInfo (deviceId: string, options: { timeoutMs?: number, signal?: AbortSignal } = {}): Promise<Record<string, unknown> | null> {
    try {
      return this.#requestInfo(deviceId, options)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  #requestInfo (deviceId: string, options: { timeoutMs?: number, signal?: AbortSignal }): Promise<Record<string, unknown> | null> {
    if (this.#stopped) throw new StoppedError()
    const timeoutMs = timeoutArgument('timeoutMs', options.timeoutMs) ?? this.config.deviceInfoTimeoutMs
    const device = this.#devices.get(deviceId)
    if (device === undefined) throw new UnknownDeviceError(deviceId)
    const connection = device.connection
    if (connection === undefined || !this.isDeviceConnected(deviceId)) throw new NotConnectedError(deviceId)
    const { signal } = options
    if (signal?.aborted === true) throw new AbortedError(`device info request for ${deviceId}`, { cause: signal.reason })
    // The reference orchestrator's form: device_info_<device>_<epoch seconds>.
    let requestId = `device_info_${deviceId}_${(Date.now() / 1000).toFixed(6)}`
    for (let n = 2; device.infos.has(requestId); n++) requestId = `device_info_${deviceId}_${(Date.now() / 1000).toFixed(6)}_${n}`
    return new Promise((resolve, reject) => {
      const onAbort = (): void => entry.settle(new AbortedError(`device info request for ${deviceId}`, { cause: signal?.reason }))
      const timer = setTimeout(() => entry.settle(new TimeoutError(`device info request for ${deviceId}`, timeoutMs)), timeoutMs)
      timer.unref()
      const entry: InfoEntry = {
        requestId,
        connection,
        settled: false,
        settle: (error, result) => {
          if (entry.settled) return
          entry.settled = true
          clearTimeout(timer)
          signal?.removeEventListener('abort', onAbort)
          device.infos.delete(requestId)
          if (error !== undefined) reject(error)
          else resolve(result ?? null)
        }
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      device.infos.set(requestId, entry)
      connection.protocol.send(buildDeviceInfoRequest({ clientId: device.clientId, targetId: deviceId, requestId })).catch((err: unknown) => {
        entry.settle(new DeviceDisconnectedError(deviceId, 'the device info request', 'the request could not be sent', { cause: err }))
      })
    })
  }

  // ---------------------------------------------------------------------------------------------------------
  // Connection internals

  #linkFor (url: URL): ServerLink {
    const key = ServerLink.keyOf(url)
    let link = this.#links.get(key)
    if (link === undefined) {
      const { strategy, owned } = this.config.strategyFor(key)
      link = new ServerLink(url, { logger: this.#log, strategy, ownsStrategy: owned, heartbeatIntervalMs: this.config.heartbeatIntervalMs })
      this.#links.set(key, link)
    }
    return link
  }

  #releaseLink (device: Device): void {
    const link = device.link
    link.devices.delete(device.deviceId)
    if (link.devices.size === 0 && this.#links.get(link.key) === link) {
      this.#links.delete(link.key)
      link.dispose()
    }
  }

  #setProfile (device: Device, profile: ResolvedProfile, url: URL): void {
    device.profile = profile
    const link = this.#linkFor(url)
    if (link !== device.link) {
      this.#releaseLink(device)
      device.link = link
      link.devices.add(device.deviceId)
    }
  }

  #transition (device: Device, to: DeviceStatus, error?: unknown): void {
    const from = device.status
    if (from === to) return
    device.status = to
    device.link.log.debug({ deviceId: device.deviceId, from, to }, 'device state')
    this.events.emit('deviceState', {
      deviceId: device.deviceId,
      from,
      to,
      ...(error === undefined ? {} : { error }),
      ...(to === 'failed' && device.failure !== undefined ? { failure: device.failure } : {})
    })
  }

  /** One connection attempt (joined by concurrent callers). */
  #connect (device: Device, signal?: AbortSignal): Promise<void> {
    if (device.attempt !== undefined) return device.attempt
    const controller = new AbortController()
    const onAbort = (): void => controller.abort(signal?.reason)
    if (signal?.aborted === true) controller.abort(signal.reason)
    signal?.addEventListener('abort', onAbort, { once: true })
    device.attemptAbort = controller
    const attempt = this.#open(device, controller.signal).finally(() => {
      signal?.removeEventListener('abort', onAbort)
      if (device.attempt === attempt) {
        device.attempt = undefined
        device.attemptAbort = undefined
      }
    })
    device.attempt = attempt
    return attempt
  }

  async #open (device: Device, signal: AbortSignal): Promise<void> {
    const { deviceId, clientId, link } = device
    this.#transition(device, 'connecting')
    let protocol: AIPProtocol<'client'>
    try {
      if (signal.aborted) throw new AbortedError(`connection of ${deviceId}`, { cause: signal.reason })
      const transport = await this.config.transportFactory(device.profile.serverUrl, { signal, handshakeTimeoutMs: this.config.connectTimeoutMs, deviceId })
      protocol = new AIPProtocol(transport, { role: 'client', logger: link.log })
    } catch (err) {
      const httpStatus = (err as { httpStatus?: number }).httpStatus
      device.lastFacts = { httpStatus }
      this.#transition(device, 'disconnected', err)
      // The transport's own message is not repeated: a custom factory might put the token in it.
      const why = signal.aborted
        ? 'aborted'
        : httpStatus !== undefined ? `the server refused the upgrade with HTTP ${httpStatus}` : 'the connection failed'
      throw connectError(link.key, deviceId, why, httpStatus, err)
    }
    const connection: Connection = {
      protocol,
      established: false,
      closing: false,
      sawFirst: false,
      firstAnswer: undefined,
      awaitingHeartbeat: false,
      missedHeartbeats: 0,
      subscriptions: [],
      beat: () => this.#beat(device, connection)
    }
    // Listeners first: no frame is lost, and the registration answer is seen by the message processor too.
    connection.subscriptions.push(
      protocol.onAnyMessage((message) => this.#onMessage(device, connection, message)),
      protocol.on('close', (info) => this.#onClose(device, connection, info))
    )
    try {
      if (this.#stopped || device.removed) throw new StoppedError()
      await register(protocol, buildConstellationRegistration({ clientId, targetId: deviceId, taskName: this.config.taskName }), {
        timeoutMs: this.config.registrationTimeoutMs,
        signal
      })
      if (!protocol.isOpen) throw new RegistrationRefusedError(clientId, 'the server closed the connection right after accepting it')
      if (this.#stopped || device.removed) throw new StoppedError()
    } catch (err) {
      protocol.close(1000, 'registration failed')
      protocol.transport.terminate()
      const error = this.#registrationError(device, connection, err)
      this.#transition(device, 'disconnected', error)
      throw error
    }
    connection.established = true
    device.connection = connection
    device.connections++
    device.failure = undefined
    device.conflictSince = undefined
    device.lastError = undefined
    link.add(connection)
    link.log.info({ deviceId, clientId }, 'device connected')
    this.#transition(device, 'connected')
    this.events.emit('connected', { endpointId: deviceId })
    this.#pump(device)
  }

  /** The error of a failed registration; records what is known of it for `classifyFailure`. */
  #registrationError (device: Device, connection: Connection, err: unknown): unknown {
    const code = (err as { code?: string }).code
    const answer = connection.firstAnswer
    const refusal = answer?.type === 'error' ? (answer.error ?? 'unknown error') : undefined
    device.lastFacts = { refusal, registrationTimedOut: code === 'AIP_ERR_ENDPOINT_REGISTRATION_TIMEOUT' }
    if (code === 'AIP_ERR_ENDPOINT_REGISTRATION_TIMEOUT') {
      return new RegistrationTimeoutError(device.clientId, this.config.registrationTimeoutMs, { cause: err })
    }
    if (code === 'AIP_ERR_ENDPOINT_REGISTRATION_REFUSED') {
      return new RegistrationRefusedError(device.clientId, refusal ?? (err as Error).message, { cause: err })
    }
    return err
  }

  /** Judges the last failed attempt of a reconnecting device (the one place: `classifyFailure`). */
  #judge (device: Device): FailureVerdict {
    const now = Date.now()
    const verdict = classifyFailure({
      ...device.lastFacts,
      firstConnection: false,
      identityConflictForMs: device.conflictSince === undefined ? 0 : now - device.conflictSince
    })
    if (verdict.reason === 'identity-conflict') device.conflictSince ??= now
    else device.conflictSince = undefined
    return verdict
  }

  async #onMessage (device: Device, connection: Connection, message: DecodedServerMessage): Promise<void> {
    const first = !connection.sawFirst
    if (first) {
      connection.sawFirst = true
      connection.firstAnswer = message
    }
    try {
      await this.handleMessage(message, { deviceId: device.deviceId })
    } catch (err) {
      this.#log.warn({ err, deviceId: device.deviceId, type: message.type }, 'message processor threw')
      this.events.emit('error', { error: err, context: 'messageProcessor' })
    }
    // The first frame is the registration answer, handled by the registration flow.
    if (first) return
    if (device.connection !== connection) {
      this.#unmatched(device, message, 'message on a connection that is not the device\'s current one')
      return
    }
    switch (message.type) {
      case 'heartbeat':
        this.#onHeartbeat(device, connection, message)
        return
      case 'task_end':
        this.#onTaskEnd(device, connection, message)
        return
      case 'device_info_response':
        this.#onDeviceInfo(device, message)
        return
      case 'error':
        this.#onError(device, connection, message)
        return
      default:
        this.#unmatched(device, message, 'unexpected message type')
    }
  }

  #onHeartbeat (device: Device, connection: Connection, message: DecodedServerMessage): void {
    if (message.status !== 'ok') {
      this.#unmatched(device, message, 'heartbeat with a status other than ok')
      return
    }
    if (message.session_id === null) {
      connection.awaitingHeartbeat = false
      connection.missedHeartbeats = 0
      device.lastHeartbeatAt = Date.now()
      return
    }
    const entry = device.running.get(message.session_id)
    if (entry === undefined || entry.connection !== connection || entry.phase !== 'sent') {
      this.#unmatched(device, message, 'ack of no task waiting for one')
      return
    }
    entry.phase = 'acked'
    this.events.emit('taskAck', { taskId: entry.taskId, sessionId: entry.sessionId, deviceId: device.deviceId })
  }

  #onTaskEnd (device: Device, connection: Connection, message: DecodedServerMessage): void {
    const entry = message.session_id === null ? undefined : device.running.get(message.session_id)
    if (entry === undefined || entry.connection !== connection) {
      this.#unmatched(device, message, 'TASK_END of no pending task (late, or already settled)')
      return
    }
    const status = message.status === 'completed' ? 'completed' : 'failed'
    this.#settle(entry, status, {
      taskId: entry.taskId,
      sessionId: entry.sessionId,
      deviceId: device.deviceId,
      status,
      result: message.result ?? null,
      error: message.error ?? null,
      message
    } satisfies TaskResult)
  }

  #onDeviceInfo (device: Device, message: DecodedServerMessage): void {
    const info = message.response_id === null ? undefined : device.infos.get(message.response_id)
    if (info === undefined) {
      this.#unmatched(device, message, 'DEVICE_INFO_RESPONSE of no pending request')
      return
    }
    if (message.status === 'error') {
      info.settle(new DeviceInfoRefusedError(device.deviceId, message.error ?? 'unknown error'))
      return
    }
    const result = message.result
    info.settle(undefined, typeof result === 'object' && result !== null && !Array.isArray(result) ? result as Record<string, unknown> : null)
  }

  /**
   * ERROR correlation. Our server fills `session_id` (and the request id as `response_id`); the reference fills
   * neither (B5). So: a matching session rejects that task; a matching `response_id` rejects that device-info
   * request; an ERROR without a session id rejects the one request still waiting for an answer on this
   * connection (a TASK not yet acked, or a device-info request), if there is exactly one. Anything else is logged.
   */
  #onError (device: Device, connection: Connection, message: DecodedServerMessage): void {
    const text = message.error ?? 'unknown error'
    if (message.session_id !== null) {
      const entry = device.running.get(message.session_id)
      if (entry !== undefined && entry.connection === connection) {
        this.#settle(entry, 'refused', new TaskRefusedError(entry.taskId, text))
        return
      }
    }
    const info = message.response_id === null ? undefined : device.infos.get(message.response_id)
    if (info !== undefined) {
      info.settle(new DeviceInfoRefusedError(device.deviceId, text))
      return
    }
    if (message.session_id === null) {
      const tasks = [...device.running.values()].filter((entry) => entry.connection === connection && entry.phase === 'sent')
      const infos = [...device.infos.values()].filter((entry) => entry.connection === connection)
      if (tasks.length + infos.length === 1) {
        const [task] = tasks
        if (task !== undefined) this.#settle(task, 'refused', new TaskRefusedError(task.taskId, text))
        else infos[0]?.settle(new DeviceInfoRefusedError(device.deviceId, text))
        return
      }
    }
    this.#unmatched(device, message, 'ERROR that matches no single pending request')
  }

  #unmatched (device: Device, message: DecodedServerMessage, reason: string): void {
    this.#log.debug({ deviceId: device.deviceId, type: message.type, status: message.status, sessionId: message.session_id, error: message.error, reason }, 'message dropped')
    this.events.emit('unmatched', { deviceId: device.deviceId, message, reason })
  }

  #beat (device: Device, connection: Connection): void {
    if (!connection.protocol.isOpen) return
    if (connection.awaitingHeartbeat) {
      connection.missedHeartbeats++
      if (connection.missedHeartbeats >= this.config.maxMissedHeartbeats) {
        device.link.log.warn({ deviceId: device.deviceId, missed: connection.missedHeartbeats }, 'server stopped answering heartbeats: dropping the connection')
        connection.protocol.transport.terminate()
        return
      }
    }
    connection.awaitingHeartbeat = true
    // client_type constellation: the reference orchestrator sends "device" and is refused (B1).
    const heartbeat = buildHeartbeat({ clientId: device.clientId, clientType: 'constellation', metadata: { device_id: device.deviceId } })
    connection.protocol.send(heartbeat).catch((err: unknown) => {
      device.link.log.debug({ err, deviceId: device.deviceId }, 'heartbeat not sent')
    })
  }

  #onClose (device: Device, connection: Connection, info: CloseInfo): void {
    for (const unsubscribe of connection.subscriptions) unsubscribe()
    connection.subscriptions = []
    device.link.remove(connection)
    if (!connection.established || device.connection !== connection) return
    device.connection = undefined
    device.link.log.info({ deviceId: device.deviceId, code: info.code, reason: info.reason, local: info.local }, 'device connection closed')
    this.events.emit('disconnected', { endpointId: device.deviceId, info })
    if (connection.closing || device.removed || this.#stopped) return
    const why = `connection closed (${info.code}${info.reason === '' ? '' : ` ${info.reason}`})`
    this.#failInfos(device, () => new DeviceDisconnectedError(device.deviceId, 'the device info request', why))
    this.#transition(device, 'disconnected', new DeviceDisconnectedError(device.deviceId, 'its tasks', why))
    this.#recover(device).catch((err: unknown) => this.#log.error({ err, deviceId: device.deviceId }, 'recovery failed'))
  }

  /**
   * The reference recovery, through the server's strategy: `cancelDeviceTasks`, `onDeviceDisconnected`, then
   * reconnection attempts (each one `reconnectDevice`) until reconnected or given up (state `failed`).
   */
  async #recover (device: Device): Promise<void> {
    const { deviceId } = device
    const controller = new AbortController()
    device.recovery = controller
    const reason = 'device_disconnected'
    const hooks = {
      cancelDeviceTasks: async (id: string, why: string): Promise<void> => {
        try {
          await this.cancelDeviceTasks(id, why)
        } finally {
          // Whatever an override did, no running task outlives the connection that carried it.
          this.#failRunning(device, why)
          if (!this.config.keepQueueWhileReconnecting) this.#failQueued(device, why, 'disconnected')
        }
      },
      onDeviceDisconnected: async (id: string): Promise<void> => { await this.onDeviceDisconnected(id) }
    }
    let reconnected = false
    try {
      if (this.config.autoReconnect) {
        const endpoint: ReconnectableEndpoint = {
          ...hooks,
          reconnectDevice: async (id, options) => {
            const ok = await this.reconnectDevice(id, options)
            if (!ok && !controller.signal.aborted) {
              const verdict = this.#judge(device)
              if (!verdict.retry) {
                device.failure = verdict.reason
                controller.abort(device.lastError)
              } else if (verdict.free) {
                device.link.strategy.reset(id)
              }
            }
            return ok
          }
        }
        // One budget: the profile's maxRetries when it sets one, else the strategy's (Infinity by default).
        reconnected = await device.link.strategy.handleDisconnection(endpoint, deviceId, undefined, {
          signal: controller.signal,
          ...(device.profile.maxRetries === undefined ? {} : { maxRetries: device.profile.maxRetries })
        })
      } else {
        await hooks.cancelDeviceTasks(deviceId, reason).catch((err: unknown) => this.#log.error({ err, deviceId }, 'cancelDeviceTasks failed'))
        await hooks.onDeviceDisconnected(deviceId).catch((err: unknown) => this.#log.error({ err, deviceId }, 'onDeviceDisconnected failed'))
      }
    } catch (err) {
      this.#log.info({ err, deviceId }, 'reconnection abandoned')
    } finally {
      if (device.recovery === controller) device.recovery = undefined
    }
    if (reconnected || this.isDeviceConnected(deviceId) || device.removed || this.#stopped) return
    if (device.attempt !== undefined || device.recovery !== undefined) return
    this.#giveUp(device, device.lastError ?? new DeviceDisconnectedError(deviceId, 'its tasks', 'reconnection gave up'))
  }

  /** The device is given up: state `failed`, and everything pending on it fails. */
  #giveUp (device: Device, error: unknown): void {
    this.#transition(device, 'failed', error)
    const reason = device.failure === undefined ? 'the device was given up' : `the device was given up (${device.failure})`
    this.#failRunning(device, reason)
    this.#failQueued(device, reason, 'disconnected')
    this.#failInfos(device, () => new DeviceDisconnectedError(device.deviceId, 'the device info request', reason))
  }

  async #remove (device: Device, error: (entry: TaskEntry) => unknown, outcome: TaskOutcome, code = 1000, reason = ''): Promise<void> {
    device.removed = true
    if (this.#devices.get(device.deviceId) === device) this.#devices.delete(device.deviceId)
    device.recovery?.abort(new AbortedError(`reconnection of ${device.deviceId}`))
    device.attemptAbort?.abort(new AbortedError(`connection of ${device.deviceId}`))
    for (const entry of [...device.running.values(), ...device.queue]) this.#settle(entry, outcome, error(entry))
    this.#failInfos(device, () => outcome === 'stopped' ? new StoppedError() : new DeviceDisconnectedError(device.deviceId, 'the device info request', 'disconnected by the caller'))
    const connection = device.connection
    device.connection = undefined
    if (connection !== undefined) {
      connection.closing = true
      device.link.remove(connection)
      await closeGracefully(connection.protocol, code, reason)
    }
    await device.attempt?.catch(() => {})
    this.#transition(device, 'disconnected')
    this.#releaseLink(device)
  }
}

async function closeGracefully (protocol: AIPProtocol<'client'>, code: number, reason: string): Promise<void> {
  protocol.close(code, reason)
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), CLOSE_GRACE_MS)
    timer.unref()
  })
  if (await Promise.race([protocol.closed, late]) === 'late') protocol.transport.terminate()
  clearTimeout(timer)
}

function snapshot (device: Device): DeviceSnapshot {
  return Object.freeze({
    deviceId: device.deviceId,
    clientId: device.clientId,
    serverUrl: device.link.key,
    status: device.status,
    os: device.profile.os,
    capabilities: device.profile.capabilities,
    metadata: device.profile.metadata,
    queued: device.queue.length,
    running: device.running.size,
    connections: device.connections,
    lastHeartbeatAt: device.lastHeartbeatAt
  })
}
