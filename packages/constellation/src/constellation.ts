import { AIPEndpoint, childLogger, classifyFailure, type DisconnectCause, type Logger } from '@aip/endpoint'
import type { DecodedServerMessage } from '@aip/protocol'
import { AbortedError } from '@aip/resilience'
import { Device } from './device.js'
import { DeviceConnection, type ConnectionHooks } from './device-connection.js'
import { normalizeDeviceInfo, type DeviceInfoAnswer } from './device-info.js'
import {
  DeviceDisconnectedError, DuplicateSessionError, InvalidArgumentError, NotConnectedError, QueueFullError, StoppedError,
  TaskAbortedError, UnknownDeviceError
} from './errors.js'
import type { ConstellationHost } from './host.js'
import { resolveOptions, resolveProfile, timeoutArgument, type ConstellationOptions, type ResolvedConstellationOptions } from './options.js'
import { connectionClosed, giveUp, type RecoveryHooks } from './recovery.js'
import { endHold, resumeOrFail } from './resume.js'
import { ServerLinks } from './server-link.js'
import type { TaskEntry } from './task-queue.js'
import { taskSpec } from './task-request.js'
import type {
  AgentProfile, ConstellationEvents, DeviceSnapshot, MessageContext, SendTaskOptions, TaskOutcome, TaskRequest, TaskResult
} from './types.js'

/** Options of {@link ConstellationEndpoint.requestDeviceInfo}. */
export interface DeviceInfoOptions {
  /** Deadline of the answer. Default: the `deviceInfoTimeoutMs` option. */
  timeoutMs?: number
  signal?: AbortSignal
  /** Resolve with the record and its normalised view (`true`), or with the record alone (default). */
  view?: boolean
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
  /** The validated, frozen options of the constellation (its only options object). */
  override readonly options: ResolvedConstellationOptions
  readonly #log: Logger
  readonly #host: ConstellationHost
  readonly #hooks: ConnectionHooks
  readonly #recovery: RecoveryHooks
  readonly #devices = new Map<string, Device>()
  readonly #links: ServerLinks
  #stopped = false

  /**
   * @throws `AIP_ERR_INVALID_OPTION` when an option is missing or out of range
   */
  constructor (options: ConstellationOptions) {
    const config = resolveOptions(options)
    super('client', { logger: config.logger, defaultTimeoutMs: config.defaultTimeoutMs })
    this.options = config
    this.#log = childLogger(config.logger, { component: 'aip-constellation', taskName: config.taskName })
    this.#links = new ServerLinks(config, this.#log)
    this.#host = {
      options: config,
      log: this.#log,
      emit: (event, payload) => this.events.emit(event, payload),
      stopped: () => this.#stopped
    }
    this.#hooks = {
      attach: (transport, deviceId) => this.attachConnection(transport, deviceId),
      detach: (deviceId) => { this.detachConnection(deviceId) },
      onClose: (device, connection, info) => connectionClosed(this.#host, this.#recovery, device, connection, info)
    }
    this.#recovery = {
      cancelDeviceTasks: (id, why) => this.cancelDeviceTasks(id, why),
      onDeviceDisconnected: (id) => this.onDeviceDisconnected(id),
      reconnectDevice: (id, attempt) => this.reconnectDevice(id, attempt),
      isDeviceConnected: (id) => this.isDeviceConnected(id)
    }
  }

  /**
   * The validated options.
   * @deprecated the same object as {@link ConstellationEndpoint.options}
   */
  get config (): ResolvedConstellationOptions {
    return this.options
  }

  /** The orchestrator's task name. */
  get taskName (): string {
    return this.options.taskName
  }

  /** Moves the endpoint to `started`; connections are opened by `connectToDevice`. Refused after `stop()`. */
  async start (): Promise<void> {
    if (this.#stopped) throw new StoppedError()
    if (this.canTransition('started')) this.transition('started')
    this.#log.info({}, 'constellation endpoint started')
  }

  /**
   * Sees every incoming message of a device connection (`key`: its device id) before the endpoint routes it:
   * runs the `messageProcessor`, whose errors are logged and emitted as `error` (context `messageProcessor`) and
   * never stop processing. A subclass may override it (and call `super.handleMessage`).
   */
  async handleMessage (message: DecodedServerMessage, key: MessageContext | string = { deviceId: '' }): Promise<void> {
    const context = typeof key === 'string' ? { deviceId: key } : key
    const processor = this.options.messageProcessor
    if (processor === undefined) return
    try {
      if (typeof processor === 'function') await processor(message, context)
      else await processor.processMessage(message, context)
    } catch (err) {
      this.#log.warn({ err, deviceId: context.deviceId, type: message.type }, 'message processor threw')
      this.events.emit('error', { error: err, context: 'messageProcessor' })
    }
  }

  /**
   * True while the device `key` has an open, registered connection; without a key, while at least one device
   * has one.
   */
  override isConnected (key?: string): boolean {
    if (key !== undefined) return this.isDeviceConnected(key)
    for (const device of this.#devices.values()) if (device.sendable !== undefined) return true
    return false
  }

  /** True while the device has an open, registered connection. */
  isDeviceConnected (deviceId: string): boolean {
    return this.#devices.get(deviceId)?.sendable !== undefined
  }

  /** A snapshot of a device, or `undefined` when unknown. */
  getDevice (deviceId: string): DeviceSnapshot | undefined {
    return this.#devices.get(deviceId)?.snapshot()
  }

  /** Snapshots of every known device. */
  listDevices (): DeviceSnapshot[] {
    return [...this.#devices.values()].map((device) => device.snapshot())
  }

  // ---------------------------------------------------------------------------------------------------------
  // Connections

  /**
   * Connects to a device through its server and registers as `<taskName>@<deviceId>` with `target_id` set to the
   * device. Resolves once registered. With a list of servers (`serverUrl` as an array: the nodes of one fleet), they
   * are tried in turn and the first that registers is used. Calling it for a device already connected (or
   * connecting) to the same server(s) joins that connection; a failed or disconnected device is connected again with
   * the new profile.
   *
   * @throws (rejects) `AIP_ERR_CONSTELLATION_CONNECT` (with `httpStatus` on a refused upgrade),
   * `AIP_ERR_CONSTELLATION_REGISTRATION_REFUSED` (an ERROR answer, at once), `AIP_ERR_CONSTELLATION_REGISTRATION_TIMEOUT`,
   * `AIP_ERR_INVALID_ARGUMENT`, `AIP_ERR_CONSTELLATION_STOPPED`. The device is then in state `failed`.
   */
  async connectToDevice (agentProfile: AgentProfile): Promise<void> {
    if (this.#stopped) throw new StoppedError()
    const { profile, urls } = resolveProfile(agentProfile)
    let device = this.#devices.get(profile.deviceId)
    if (device !== undefined) {
      const active = device.status !== 'failed' && device.status !== 'disconnected'
      if (active && !sameServers(device.profile.serverUrls, profile.serverUrls)) {
        throw new InvalidArgumentError('agentProfile.serverUrl', `the server(s) device ${profile.deviceId} is connected through`, 'other servers')
      }
      if (this.isDeviceConnected(profile.deviceId)) return
      if (device.attempt !== undefined) return await device.attempt
      device.recovery?.abort(new AbortedError(`reconnection of ${profile.deviceId}`))
      device.profile = profile
      this.#links.move(device, urls)
    } else {
      const link = this.#links.forUrls(urls)
      device = new Device(this.#host, profile, link)
      link.devices.add(device.deviceId)
      this.#devices.set(device.deviceId, device)
    }
    try {
      await this.#connect(device)
    } catch (err) {
      if (!device.removed && !this.#stopped && !this.isDeviceConnected(device.deviceId)) giveUp(device, err)
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
      if (device.recovery === undefined && device.status !== 'failed') giveUp(device, err)
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
   * `super`, the endpoint still rejects the running tasks right after it returns: no task is left pending. While the
   * running tasks are held for a resume (the server granted `resume`), they are spared: they fail only if the
   * resume does not come.
   */
  override async cancelDeviceTasks (deviceId: string, reason: string): Promise<void> {
    const device = this.#devices.get(deviceId)
    if (device === undefined) return
    if (device.hold === undefined) device.tasks.failRunning(reason)
    if (!this.options.keepQueueWhileReconnecting) device.tasks.failQueued(reason, 'disconnected')
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
    this.#links.disposeAll()
    this.#log.info({}, 'constellation endpoint stopped')
    await super.stop(code, reason)
  }

  // ---------------------------------------------------------------------------------------------------------
  // Tasks

  /**
   * Queues a task for a device and resolves with its TASK_END (read `status`: `completed` or `failed`). The TASK
   * carries the caller's `sessionId`, or else `<taskName>@<taskId>`; only the TASK_END of that session on that
   * device's connection ends it. Tasks of a device are sent in FIFO order, `maxConcurrentTasks` at a time.
   * `options` (`signal`, `timeoutMs`) take the place of the request's own. With continuity granted by the server:
   * a drop does not fail a running task if the server resumes it (`resume`); an abort or deadline of a sent task
   * cancels it on the server and keeps its slot until the server confirms (`cancel`); the TASK carries its
   * deadline (`deadline`). See the README's "Task continuity".
   *
   * @throws (rejects) `AIP_ERR_CONSTELLATION_TASK_REFUSED` (a correlated ERROR, at once), `AIP_ERR_TIMEOUT`
   * (`TimeoutError`), `AIP_ERR_CONSTELLATION_TASK_ABORTED`, `AIP_ERR_CONSTELLATION_DEVICE_DISCONNECTED`,
   * `AIP_ERR_CONSTELLATION_NOT_CONNECTED`, `AIP_ERR_CONSTELLATION_UNKNOWN_DEVICE`, `AIP_ERR_CONSTELLATION_QUEUE_FULL`,
   * `AIP_ERR_CONSTELLATION_DUPLICATE_SESSION` (the session id is already queued or running on the device),
   * `AIP_ERR_INVALID_ARGUMENT`, `AIP_ERR_CONSTELLATION_STOPPED`
   */
  sendTaskToDevice (deviceId: string, taskRequest: TaskRequest, options?: SendTaskOptions): Promise<TaskResult> {
    try {
      return this.#enqueue(deviceId, taskRequest, options)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  #enqueue (deviceId: string, taskRequest: TaskRequest, options: SendTaskOptions | undefined): Promise<TaskResult> {
    if (this.#stopped) throw new StoppedError()
    const spec = taskSpec(taskRequest, options, this.options)
    const device = this.#devices.get(deviceId)
    if (device === undefined) throw new UnknownDeviceError(deviceId)
    if (!this.#accepting(device)) throw new NotConnectedError(deviceId)
    if (device.tasks.has(spec.sessionId)) throw new DuplicateSessionError(spec.sessionId, deviceId)
    if (device.tasks.queued.length >= this.options.maxQueuedTasks) throw new QueueFullError(deviceId, this.options.maxQueuedTasks)
    if (spec.signal?.aborted === true) throw new TaskAbortedError(spec.taskId, { cause: spec.signal.reason })
    return device.tasks.enqueue(spec)
  }

  /** Whether a device takes new tasks: connected or connecting, or reconnecting with the queue kept. */
  #accepting (device: Device): boolean {
    if (device.removed) return false
    if (device.status === 'failed') return false
    if (device.status === 'disconnected') {
      return device.recovery !== undefined && this.options.keepQueueWhileReconnecting
    }
    return true
  }

  // ---------------------------------------------------------------------------------------------------------
  // Device info

  /**
   * Asks the device's server for the device's information (DEVICE_INFO_REQUEST, correlated by `request_id`), and
   * resolves with the answer's `result` (the reference server answers `{ error: '... not found ...' }` when it has
   * none); with `{ view: true }`, with that record and its normalised view (`os`, `cpu`, `gpu`, `memory`...).
   *
   * @throws (rejects) `AIP_ERR_CONSTELLATION_DEVICE_INFO_REFUSED` (an ERROR with the request's id, or the only
   * request waiting on the connection), `AIP_ERR_TIMEOUT`, `AIP_ERR_ABORTED`,
   * `AIP_ERR_CONSTELLATION_NOT_CONNECTED`, `AIP_ERR_CONSTELLATION_UNKNOWN_DEVICE`, `AIP_ERR_CONSTELLATION_DEVICE_DISCONNECTED`
   */
  requestDeviceInfo (deviceId: string, options: DeviceInfoOptions & { view: true }): Promise<DeviceInfoAnswer>
  requestDeviceInfo (deviceId: string, options?: DeviceInfoOptions & { view?: false }): Promise<Record<string, unknown> | null>
  requestDeviceInfo (deviceId: string, options: DeviceInfoOptions = {}): Promise<Record<string, unknown> | null | DeviceInfoAnswer> {
    try {
      const answer = this.#requestInfo(deviceId, options)
      if (options.view !== true) return answer
      return answer.then((record) => Object.freeze({ record, view: record === null ? null : normalizeDeviceInfo(record) }))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  #requestInfo (deviceId: string, options: DeviceInfoOptions): Promise<Record<string, unknown> | null> {
    if (this.#stopped) throw new StoppedError()
    const timeoutMs = timeoutArgument('timeoutMs', options.timeoutMs) ?? this.options.deviceInfoTimeoutMs
    const device = this.#devices.get(deviceId)
    if (device === undefined) throw new UnknownDeviceError(deviceId)
    const protocol = device.sendable
    if (protocol === undefined) throw new NotConnectedError(deviceId)
    const { signal } = options
    if (signal?.aborted === true) throw new AbortedError(`device info request for ${deviceId}`, signal.reason)
    return device.infos.request(protocol, { clientId: device.clientId, deviceId, timeoutMs, signal })
  }

  // ---------------------------------------------------------------------------------------------------------
  // Connection internals

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
    device.apply({ type: 'connect', attempt: device.connections })
    const connection = await this.#openRound(device, signal)
    connection.established = true
    device.connection = connection
    device.grant = connection.grant
    device.connections++
    device.failure = undefined
    device.lastError = undefined
    device.judge.registered()
    device.link.add(connection)
    device.link.log.info({ deviceId: device.deviceId, clientId: device.clientId, url: device.serverUrl }, 'device connected')
    device.apply({ type: 'registered', at: Date.now() })
    connection.releaseEarlyFrames()
    // Held tasks first (sent again, or failed), then the queue.
    resumeOrFail(this.#host, device, connection.protocol)
    device.tasks.pump()
  }

  /**
   * One round over the device's servers: each once, from the one after the server it lost or last tried, until one
   * registers. When every server failed, the device's lifecycle records the loss and the round rejects with the
   * failure it is judged by (left in `device.lastFacts`): the first that retrying may heal, else the last, so a
   * round stops retrying only when no server left any hope. With one URL, its failure as it is.
   */
  async #openRound (device: Device, signal: AbortSignal): Promise<DeviceConnection> {
    let chosen: { error: unknown, facts: Device['lastFacts'], loss: DisconnectCause | undefined, retry: boolean } | undefined
    for (const server of device.servers.round()) {
      device.servers.use(server)
      device.lastLoss = undefined
      try {
        return await DeviceConnection.open(this.#host, device, this.#hooks, server, signal)
      } catch (error) {
        const failure = { error, facts: device.lastFacts, loss: device.lastLoss, retry: false }
        if (signal.aborted || this.#stopped || device.removed) {
          chosen = failure
          break
        }
        // A first look, before the device's judge (which keeps the state of a run of refusals) sees the round's failure.
        const { reason, retry } = classifyFailure({ ...failure.facts, firstConnection: device.connections === 0 })
        failure.retry = retry
        device.link.log.warn({ deviceId: device.deviceId, url: device.serverKeys[server.index], index: server.index, reason }, 'connection attempt failed')
        if (chosen === undefined || !chosen.retry) chosen = failure
      }
    }
    const failed = chosen as NonNullable<typeof chosen>
    device.lastFacts = failed.facts
    device.apply({ type: 'lose', cause: failed.loss ?? { kind: 'connect', message: 'the connection failed', error: failed.error } })
    throw failed.error
  }

  async #remove (device: Device, error: (entry: TaskEntry) => unknown, outcome: TaskOutcome, code = 1000, reason = ''): Promise<void> {
    device.removed = true
    if (this.#devices.get(device.deviceId) === device) this.#devices.delete(device.deviceId)
    device.recovery?.abort(new AbortedError(`reconnection of ${device.deviceId}`))
    device.attemptAbort?.abort(new AbortedError(`connection of ${device.deviceId}`))
    endHold(device)
    device.tasks.settleAll(outcome, error)
    device.infos.failAll(() => outcome === 'stopped' ? new StoppedError() : new DeviceDisconnectedError(device.deviceId, 'the device info request', 'disconnected by the caller'))
    const connection = device.connection
    device.connection = undefined
    if (connection !== undefined) {
      connection.closing = true
      device.link.remove(connection)
      await connection.closeGracefully(code, reason)
    }
    await device.attempt?.catch(() => {})
    device.apply({ type: 'stop' })
    this.#links.release(device)
  }
}

/** Whether two profiles name the same servers, in the same order. */
function sameServers (a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((url, index) => url === b[index])
}
