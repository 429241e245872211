import {
  AIPEndpoint, CLIENT_LIFECYCLE, CloseCode, ConnectionLifecycle, FailureJudge, ServerList, classifyFailure, type ConnectionEvent,
  type ConnectionStateKind, type DisconnectCause, type FailureReason
} from '@aip/endpoint'
import {
  buildDeviceRegistration, readDrainHint, resumeDelayCap, type ContinuityGrant, type DecodedServerMessage, type DeviceSystemInfo
} from '@aip/protocol'
import { InvalidArgumentError, describeValue, type Logger, type ReconnectableEndpoint, type Unsubscribe } from '@aip/resilience'
import { CommandRunner } from './command-runner.js'
import { AttemptError, Connection, connectionSettings, type ConnectionEnd, type ConnectionSettings } from './connection.js'
import { DeviceContinuity } from './continuity.js'
import { DeviceTasks, type StartTaskOptions } from './device-tasks.js'
import { NotRegisteredError, StoppedError, connectionError, type ConnectionError } from './errors.js'
import type { DeviceClientEvents } from './events.js'
import type { CommandExecutor } from './executor.js'
import { resolveOptions, type DeviceClientOptions, type ResolvedDeviceClientOptions } from './options.js'
import { ResultsSender } from './results-sender.js'
import type { ClientState } from './state.js'
import { TelemetryReporter } from './telemetry-reporter.js'
import { ToolRegistry } from './tools.js'

/**
 * The AIP device agent: connects to a device-agent server, registers with its telemetry, heartbeats, runs the
 * COMMANDs it receives through its tools, returns their results, and reconnects for ever (by default) when the
 * connection drops.
 *
 * It is an `AIPEndpoint` of `@aip/endpoint` with one connection, keyed by its client id: `use(extension)`,
 * `sendWithTimeout`, `receiveWithTimeout` and `isConnected` act on it, and every frame goes through its
 * `AIPProtocol`. Its state is the shared client connection lifecycle (`status`, the full state; `state`, its
 * kind); every change is an event. The `ReconnectionStrategy` drives `reconnectDevice`.
 */
export class DeviceClientEndpoint extends AIPEndpoint<'client', DeviceClientEvents, ConnectionStateKind> implements ReconnectableEndpoint {
  /** The validated options, frozen. */
  override readonly options: ResolvedDeviceClientOptions
  /** The tools of the `tools` option (empty when an `executor` is given). */
  readonly tools: ToolRegistry
  /** What runs the COMMANDs: the `executor` option, or the {@link tools}. */
  readonly executor: CommandExecutor
  readonly #log: Logger
  readonly #lifecycle: ConnectionLifecycle
  readonly #judge: FailureJudge
  readonly #results: ResultsSender
  readonly #commands: CommandRunner
  readonly #continuity: DeviceContinuity
  readonly #tasks: DeviceTasks
  readonly #telemetry: TelemetryReporter
  readonly #settings: ConnectionSettings
  /** The servers of the `wsUrl` option, tried in turn. */
  readonly #servers: ServerList
  readonly #stopController = new AbortController()
  #connection: Connection | undefined
  #started: Promise<void> | undefined
  #stopping: Promise<void> | undefined
  #stopped = false
  #loop: AbortController | undefined
  #loopDone: Promise<void> | undefined
  #fatal: { failure: AttemptError, reason: FailureReason } | undefined
  #lastCause: DisconnectCause | undefined
  #attempt = 0
  /** Registered at least once: a failed attempt is then a reconnection's. */
  #registeredOnce = false
  #offTelemetry: (() => void) | undefined

  /** @throws `AIP_ERR_INVALID_OPTION` naming the first invalid option */
  constructor (options: DeviceClientOptions) {
    const resolved = resolveOptions(options)
    super('client', { logger: resolved.logger, defaultTimeoutMs: resolved.defaultTimeoutMs }, CLIENT_LIFECYCLE)
    this.options = resolved
    const { logger, clientId } = resolved
    this.#log = typeof (logger as { child?: unknown }).child === 'function'
      ? (logger as Logger & { child: (b: object) => Logger }).child({ component: 'aip-device-client', clientId })
      : logger
    this.#lifecycle = new ConnectionLifecycle(({ state, previous }) => {
      this.#log.debug({ from: previous.kind, to: state.kind }, 'state changed')
      this.transition(state.kind)
      this.events.emit('state', { state, previous })
      this.events.emit(state.kind as 'connecting', state as never)
    })
    this.#judge = new FailureJudge(resolved.now)
    this.#servers = new ServerList(resolved.wsUrls)
    this.tools = new ToolRegistry(resolved.tools, { namespace: resolved.namespace, timeoutMs: resolved.toolTimeoutMs, earlyExit: resolved.earlyExit })
    this.executor = resolved.executor ?? this.tools
    this.#telemetry = new TelemetryReporter({
      clientId,
      executor: this.executor,
      customMetadata: resolved.customMetadata,
      supportedFeatures: resolved.supportedFeatures,
      intervalMs: resolved.telemetryIntervalMs,
      log: this.#log,
      onSent: (systemInfo) => this.events.emit('telemetrySent', { systemInfo })
    })
    this.#offTelemetry = this.executor.onTelemetryChange?.(() => {
      const connection = this.#connection
      if (connection !== undefined && this.isConnected()) this.#telemetry.push(connection.protocol)
    })
    this.#results = new ResultsSender({
      maxEntries: resolved.maxPendingResults,
      maxAgeMs: resolved.pendingResultsTtlMs,
      now: resolved.now,
      log: this.#log,
      connection: () => this.isConnected() ? this.#connection?.protocol : undefined,
      onSent: (entry, queuedMs) => {
        this.events.emit('resultsSent', { sessionId: entry.sessionId, prevResponseId: entry.message.prev_response_id, queuedMs })
      },
      onDropped: (entry, reason) => {
        this.events.emit('resultsDropped', { sessionId: entry.sessionId, prevResponseId: entry.message.prev_response_id, reason })
      }
    })
    this.#tasks = new DeviceTasks({
      clientId,
      platform: resolved.platform,
      ackTimeoutMs: resolved.timeoutMs,
      log: this.#log,
      stopped: () => this.#stopped,
      onError: (err, context) => this.#emitError(err, context)
    })
    this.#continuity = new DeviceContinuity({ enabled: resolved.continuity, maxCachedResults: resolved.maxCachedResults, now: resolved.now })
    this.#commands = new CommandRunner({
      executor: this.executor,
      clientId,
      log: this.#log,
      deliver: (results) => { this.#results.send(results).catch((err: unknown) => this.#emitError(err, 'command')) },
      onError: (err) => this.#emitError(err, 'command'),
      continuity: resolved.continuity ? this.#continuity : undefined,
      report: (event, payload) => this.events.emit(event, payload as never)
    })
    this.#settings = connectionSettings(resolved, this.#log, {
      attach: (transport) => this.attachConnection(transport, clientId),
      detach: () => { this.detachConnection(clientId) }
    })
  }

  /** The client id this device registers with, and the key of its connection. */
  get clientId (): string {
    return this.options.clientId
  }

  /** The current state (a frozen discriminated union on `kind`; `state` is its kind). */
  get status (): ClientState {
    return this.#lifecycle.state
  }

  /**
   * What the server granted of the continuity extension at the current (or last) registration: `null` before the
   * first, with `continuity: false`, or from a server that granted nothing (the Python reference).
   */
  get grant (): ContinuityGrant | null {
    return this.#continuity.grant
  }

  /**
   * The server in use, or the one being tried or last tried (the first of `wsUrl` before any attempt), with its
   * query values hidden: the form that may be logged.
   */
  get serverUrl (): string {
    return this.#servers.current.redacted
  }

  /** Results waiting for a connection. */
  get pendingResults (): number {
    return this.#results.size
  }

  /** True while registered on an open connection (`key`, if given, must be the client id). */
  override isConnected (key?: string): boolean {
    if (key !== undefined && key !== this.options.clientId) return false
    return this.#lifecycle.state.kind === 'registered' && this.#connection?.isOpen === true
  }

  /**
   * Subscribes to an event; returns the function that unsubscribes. `disconnected` is announced once per
   * registered connection, with its cause (a failed attempt is not a disconnection).
   */
  override on<K extends keyof DeviceClientEvents>(event: K, listener: (payload: DeviceClientEvents[K]) => void): Unsubscribe {
    if (event !== 'disconnected') return super.on(event, listener)
    // The base announces every closed connection; the device announces its registered ones, with their cause.
    return super.on(event, (payload) => { if ('cause' in payload) listener(payload) })
  }

  /** The telemetry sent at registration, read now from `node:os` and the executor's `telemetry()`. */
  systemInfo (): DeviceSystemInfo {
    return this.#telemetry.systemInfo()
  }

  /**
   * Connects and registers. Resolves once registered; transient failures are retried with the reconnection
   * strategy first. Rejects with a `ConnectionError` (`AIP_ERR_DEVICE_CONNECTION`) on a fatal refusal or when
   * the strategy gives up, and with `AIP_ERR_DEVICE_STOPPED` if `stop()` comes first. Calling it again returns
   * the same promise (after `stop()`, a client that never started rejects with `AIP_ERR_DEVICE_STOPPED`).
   */
  start (): Promise<void> {
    if (this.#stopped) return this.#started ?? Promise.reject(new StoppedError())
    if (this.#started !== undefined) return this.#started
    this.#started = new Promise<void>((resolve, reject) => {
      const offs = [
        this.on('registered', () => { off(); resolve() }),
        this.on('stopped', (state) => { off(); reject(state.error ?? new StoppedError()) })
      ]
      const off = (): void => { for (const unsubscribe of offs) unsubscribe() }
    })
    this.#log.info({ urls: this.#servers.entries.map((server) => server.redacted) }, 'device client starting')
    this.#apply({ type: 'connect', attempt: 0 })
    this.#firstConnect().catch((err: unknown) => this.#emitError(err, 'start'))
    return this.#started
  }

  /**
   * Stops heartbeats and reconnection, aborts running tools, drops kept results, and closes the connection cleanly
   * (1000). Resolves when no socket and no timer of this client is left.
   */
  override stop (): Promise<void> {
    this.#stopping ??= this.#shutdown()
    return this.#stopping
  }

  /**
   * Routes a message of the connection: COMMANDs to the executor, TASK_END to the running commands and kept
   * results, a server TASK to a device TASK, an ERROR to `serverError` (once registered). The registration
   * answer and heartbeat answers are read by their flows.
   */
  handleMessage (message: DecodedServerMessage): void {
    switch (message.type) {
      case 'command':
        // A COMMAND right behind the registration answer waits until the answer's grant is read.
        if (this.#attaching()) this.#continuity.hold(message)
        else this.#commands.run(message)
        return
      case 'task_end':
        this.#commands.endSession(message.session_id)
        this.#results.endSession(message.session_id)
        this.events.emit('taskEnd', { sessionId: message.session_id, status: message.status, error: message.error })
        return
      case 'task': {
        this.events.emit('serverTask', { sessionId: message.session_id, taskName: message.task_name, request: message.user_request })
        const protocol = this.connection(this.options.clientId)
        if (protocol !== undefined) this.#tasks.answerServerTask(protocol, message)
        return
      }
      case 'error':
        if (this.#lifecycle.state.kind !== 'registered') return
        this.#log.warn({ error: message.error, sessionId: message.session_id }, 'server error')
        this.events.emit('serverError', { error: message.error, sessionId: message.session_id })
    }
  }

  /**
   * One reconnection attempt, called by the `ReconnectionStrategy`: opens a connection and registers. Resolves
   * true when registered; throws the classified failure otherwise. A fatal failure also ends the loop.
   */
  override async reconnectDevice (deviceId: string, options: { signal?: AbortSignal } = {}): Promise<boolean> {
    if (deviceId !== this.options.clientId || this.#stopped) return false
    const signal = options.signal ?? this.#stopController.signal
    this.#apply({ type: 'connect', attempt: this.#attempt })
    try {
      const connection = await this.#openRound(signal)
      return this.#attach(connection)
    } catch (err) {
      const failure = AttemptError.from(err)
      this.#lastCause = failure.disconnect
      const verdict = this.#judge.judge(failure.facts)
      if (!verdict.retry) {
        this.#fatal = { failure, reason: verdict.reason }
        this.#loop?.abort()
      } else if (verdict.free) {
        this.options.reconnectionStrategy.reset(this.options.clientId)
      }
      throw failure
    }
  }

  /** Hook of `ReconnectableEndpoint`: the device's own COMMANDs keep running; nothing to cancel here. */
  override cancelDeviceTasks (deviceId: string, reason: string): void {
    this.#log.debug({ deviceId, reason }, 'connection lost; running tools go on and their results are kept')
  }

  /**
   * Sends a device-originated TASK and resolves with its TASK_END (`completed` or `failed`: read `status`). Its
   * COMMANDs run through this client's tools meanwhile. Rejects with `AIP_ERR_DEVICE_NOT_REGISTERED`,
   * `AIP_ERR_DEVICE_TASK_REFUSED` (the server's ERROR), `AIP_ERR_DEVICE_TASK_TIMEOUT`, `AIP_ERR_DEVICE_TASK_ABORTED`,
   * `AIP_ERR_DEVICE_DISCONNECTED`, `AIP_ERR_DEVICE_STOPPED` or `AIP_ERR_INVALID_ARGUMENT`. Acks are awaited one
   * task at a time, so concurrent calls never take each other's ack.
   */
  async startTask (request: string, options: StartTaskOptions = {}): Promise<DecodedServerMessage> {
    if (this.#stopped) throw new StoppedError()
    if (typeof request !== 'string' || request === '') throw new InvalidArgumentError('request', 'a non-empty string', describeValue(request))
    const connection = this.#connection
    if (connection === undefined || !this.isConnected()) throw new NotRegisteredError(this.#lifecycle.state.kind)
    return await this.#tasks.start(connection.protocol, request, options)
  }

  // -------------------------------------------------------------------------------------------------------
  // Connection life

  #registration (): ReturnType<typeof buildDeviceRegistration> {
    return buildDeviceRegistration({
      clientId: this.options.clientId,
      platform: this.options.platform,
      systemInfo: this.systemInfo(),
      metadata: this.#continuity.registrationMetadata()
    })
  }

  /**
   * One round over the servers: each once, from the one after the server lost or last tried, until one registers.
   * When every server failed, rejects with the failure the round is judged by: the first that retrying may heal,
   * else the last (so a round stops retrying only when no server left any hope; with one URL, its failure).
   */
  async #openRound (signal: AbortSignal): Promise<Connection> {
    let chosen: AttemptError | undefined
    let chosenRetries = false
    for (const server of this.#servers.round()) {
      this.#servers.use(server)
      try {
        return await Connection.open(this.#settings, server, this.#registration(), signal)
      } catch (err) {
        this.#continuity.dropHeld()
        const failure = AttemptError.from(err)
        if (signal.aborted || this.#stopped) throw failure
        // A first look, before the judge (which keeps the state of a run of refusals) sees the round's failure.
        const { reason, retry } = classifyFailure({ ...failure.facts, firstConnection: !this.#registeredOnce })
        this.#log.warn({ url: server.redacted, index: server.index, reason, err: failure.disconnect.message }, 'connection attempt failed')
        this.events.emit('attemptFailed', { url: server.redacted, index: server.index, reason, error: failure.disconnect.error ?? failure })
        if (chosen === undefined || !chosenRetries) {
          chosen = failure
          chosenRetries = retry
        }
      }
    }
    // A round holds at least one server, so a failure was chosen.
    throw chosen ?? new AttemptError({ kind: 'connect', message: 'no server to connect to' }, {})
  }

  async #firstConnect (): Promise<void> {
    let connection: Connection
    try {
      connection = await this.#openRound(this.#stopController.signal)
    } catch (err) {
      if (this.#stopped) return
      const failure = AttemptError.from(err)
      this.#lastCause = failure.disconnect
      const verdict = this.#judge.judge(failure.facts)
      if (!verdict.retry) {
        this.#fail('fatal', verdict.reason, failure)
        return
      }
      this.#loopDone = this.#reconnect(failure.disconnect)
      await this.#loopDone
      return
    }
    this.#attach(connection)
  }

  #attach (connection: Connection): boolean {
    if (this.#stopped) {
      this.#continuity.dropHeld()
      connection.close(CloseCode.GoingAway, 'device stopping')
      return false
    }
    this.#connection = connection
    this.#registeredOnce = true
    const granted = this.#continuity.registered(connection.ack)
    this.#judge.registered()
    connection.protocol.on('invalidFrame', ({ error }) => this.#log.warn({ err: error }, 'invalid frame from the server'))
    connection.ended.then((end) => this.#onEnded(connection, end)).catch((err: unknown) => this.#emitError(err, 'connection'))
    this.#telemetry.refreshWhile(connection.protocol, connection.ended)
    this.#attempt = 0
    const { server } = connection
    this.#log.info({ url: server.redacted, index: server.index }, 'registered')
    this.events.emit('registeredOn', { url: server.redacted, index: server.index })
    this.events.emit('grant', granted)
    this.#apply({ type: 'registered', at: this.options.now() })
    this.#results.flush().catch((err: unknown) => this.#emitError(err, 'flush'))
    for (const message of this.#continuity.takeHeld()) this.#commands.run(message)
    return true
  }

  /** A connection is attached to the endpoint but not yet to this client: its registration answer is being read. */
  #attaching (): boolean {
    const attached = this.connection(this.options.clientId)
    return attached !== undefined && attached !== this.#connection?.protocol
  }

  #onEnded (connection: Connection, end: ConnectionEnd): void {
    if (this.#connection === connection) this.#connection = undefined
    const { info, cause } = end
    const { server } = connection
    this.#log.warn({ url: server.redacted, code: info.code, reason: info.reason, cause: cause.kind }, 'disconnected')
    this.events.emit('disconnected', { endpointId: this.options.clientId, info, code: info.code, reason: info.reason, cause, url: server.redacted })
    if (this.#stopped || cause.kind === 'local') return
    if (cause.kind === 'closed') {
      const verdict = this.#judge.judge({ closeCode: info.code, wasRegistered: true })
      if (!verdict.retry) {
        this.#fail('fatal', verdict.reason, new AttemptError(cause, { closeCode: info.code }))
        return
      }
    }
    this.#lastCause = cause
    // A server that restarts on purpose may say how long to spread the reconnection over (1012 with its hint).
    const hint = cause.kind === 'closed' ? readDrainHint(info.code, info.reason) : null
    if (hint !== null) this.#log.info({ url: server.redacted, retryMs: hint.retryMs }, 'the server restarts: reconnecting within its hint')
    this.#loopDone = this.#reconnect(cause, hint?.retryMs).catch((err: unknown) => this.#emitError(err, 'reconnect'))
  }

  /**
   * The reconnection loop, through the strategy. `hintMs`: a draining server's reconnect hint, the window the first
   * attempt is drawn in instead of its backoff.
   */
  async #reconnect (cause: DisconnectCause, hintMs?: number): Promise<void> {
    const strategy = this.options.reconnectionStrategy
    const loop = new AbortController()
    // A loop still in flight (a connection that ended while the previous loop was registering it) is joined by the
    // strategy, tied to the previous loop's signal: stopping this one must stop that one too.
    const previous = this.#loop
    if (previous !== undefined) loop.signal.addEventListener('abort', () => { previous.abort() }, { once: true })
    this.#loop = loop
    const onStop = (): void => loop.abort()
    this.#stopController.signal.addEventListener('abort', onStop, { once: true })
    // An aborted signal fires no 'abort' event: a loop that starts once the client is stopping ends at once.
    if (this.#stopController.signal.aborted) loop.abort()
    this.#lastCause = cause
    const offAttempt = strategy.on('attempt', ({ deviceId, attempt, delayMs }) => {
      if (deviceId !== this.options.clientId || loop.signal.aborted) return
      this.#attempt = attempt
      this.#apply({ type: 'retry', attempt, delayMs, cause: this.#lastCause ?? cause })
    })
    try {
      const reconnected = await strategy.attemptReconnection(this, this.options.clientId, {
        signal: loop.signal,
        maxDelayMs: resumeDelayCap(this.grant),
        firstAttemptWithinMs: hintMs
      })
      if (!reconnected && !this.#stopped) this.#fail('exhausted', this.#judge.last?.reason)
    } catch (err) {
      if (this.#fatal !== undefined) this.#fail('fatal', this.#fatal.reason, this.#fatal.failure)
      else if (!this.#stopped) this.#fail('exhausted', this.#judge.last?.reason, AttemptError.from(err))
    } finally {
      offAttempt()
      this.#stopController.signal.removeEventListener('abort', onStop)
      if (this.#loop === loop) this.#loop = undefined
    }
  }

  /** Ends the client after a fatal refusal or an exhausted strategy. */
  #fail (reason: 'fatal' | 'exhausted', failureReason: FailureReason | undefined, failure?: AttemptError): void {
    if (this.#stopped) return
    const last = failure?.disconnect ?? this.#lastCause
    const text = reason === 'exhausted'
      ? `reconnection gave up${last === undefined ? '' : `; last failure: ${last.message}`}`
      : last?.message ?? 'refused'
    const error: ConnectionError = connectionError(this.options.clientId, text, {
      httpStatus: failure?.httpStatus,
      closeCode: failure?.closeCode ?? last?.code,
      failure: failureReason,
      cause: failure?.cause ?? last?.error ?? failure
    })
    this.#log.error({ err: error, reason, failure: failureReason }, 'device client stopped')
    this.#halt()
    this.#connection?.close(CloseCode.Normal, 'device stopping')
    this.#apply({ type: 'giveUp', reason, error, ...(failureReason === undefined ? {} : { failure: failureReason }) })
  }

  #halt (): void {
    this.#stopped = true
    this.#offTelemetry?.()
    this.#offTelemetry = undefined
    this.#stopController.abort(new StoppedError())
    this.#commands.abortAll(new StoppedError())
    this.#continuity.dropHeld()
    this.#results.clear()
  }

  async #shutdown (): Promise<void> {
    if (this.#stopped) {
      await this.#connection?.ended
      await super.stop()
      return
    }
    this.#halt()
    await this.#loopDone
    await this.#connection?.closeGracefully(CloseCode.Normal, 'device stopping')
    this.#log.info({}, 'device client stopped')
    this.#apply({ type: 'stop' })
    // Releases what the base holds (deadlines, listeners); no connection is left to close.
    await super.stop()
  }

  /** The one place the client's state changes: an event through the shared lifecycle. */
  #apply (event: ConnectionEvent): void {
    if (!this.#lifecycle.apply(event)) this.#log.debug({ from: this.#lifecycle.state.kind, event: event.type }, 'state change ignored')
  }

  #emitError (error: unknown, context: string): void {
    this.#log.error({ err: error, context }, 'device client error')
    this.events.emit('error', { error, context })
  }
}
