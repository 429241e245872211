import {
  CloseCode, ConnectionLifecycle, FailureJudge, redactUrl, type ConnectionEvent, type DisconnectCause, type FailureReason
} from '@aip/endpoint'
import { buildDeviceRegistration, type DecodedServerMessage, type DeviceSystemInfo } from '@aip/protocol'
import { TypedEmitter, type Logger, type ReconnectableEndpoint, type Unsubscribe } from '@aip/resilience'
import { AttemptError, Connection, type ConnectionEnd, type ConnectionSettings } from './connection.js'
import { InvalidArgumentError, NotRegisteredError, StoppedError, connectionError, type ConnectionError } from './errors.js'
import type { CommandExecutor } from './executor.js'
import { resolveOptions, type DeviceClientOptions, type ResolvedDeviceClientOptions } from './options.js'
import { CommandRunner } from './command-runner.js'
import { DeviceTasks, type StartTaskOptions } from './device-tasks.js'
import type { DropReason } from './outbox.js'
import { ResultsSender } from './results-sender.js'
import type { ClientState, StateEvents } from './state.js'
import { TelemetryReporter } from './telemetry-reporter.js'
import { ToolRegistry } from './tools.js'

/** How long `stop()` waits for the close handshake before it drops the socket. */
const STOP_GRACE_MS = 2000

/** Events of a {@link DeviceClientEndpoint}. */
export interface DeviceClientEvents extends StateEvents {
  /** A registered connection closed (the state then becomes `reconnecting` or `stopped`). */
  disconnected: { readonly code: number, readonly reason: string, readonly cause: ConnectionEnd['cause'] }
  /** COMMAND_RESULTS were written to the server (`queuedMs` > 0 when they waited for a reconnection). */
  resultsSent: { readonly sessionId: string | null, readonly prevResponseId: string | null, readonly queuedMs: number }
  /** Kept COMMAND_RESULTS were dropped without being sent. */
  resultsDropped: { readonly sessionId: string | null, readonly prevResponseId: string | null, readonly reason: DropReason }
  /** A server TASK (HTTP dispatch) arrived; the client turns it into its own TASK. */
  serverTask: { readonly sessionId: string | null, readonly taskName: string | null, readonly request: string | null }
  /** A TASK_END arrived for a session this device took part in. */
  taskEnd: { readonly sessionId: string | null, readonly status: string, readonly error: string | null }
  /** The server sent an ERROR outside a request this client waits for; `error` holds its text. */
  serverError: { readonly error: string | null, readonly sessionId: string | null }
  /** Something failed that no caller can be told about (a listener, a dispatched task). */
  error: { readonly error: unknown, readonly context: string }
  /** Fresh telemetry was written to the server (every `telemetryIntervalMs`). */
  telemetrySent: { readonly systemInfo: Record<string, unknown> }
}

/**
 * The AIP device agent: connects to a device-agent server, registers with its telemetry, heartbeats, runs the
 * COMMANDs it receives through its tools, returns their results, and reconnects for ever (by default) when the
 * connection drops. Its state is `status`; every change is an event.
 *
 * It is a `ReconnectableEndpoint`: the `ReconnectionStrategy` drives `reconnectDevice`.
 */
export class DeviceClientEndpoint implements ReconnectableEndpoint {
  /** The validated options, frozen. */
  readonly options: ResolvedDeviceClientOptions
  /** The tools of the `tools` option (empty when an `executor` is given). */
  readonly tools: ToolRegistry
  /** What runs the COMMANDs: the `executor` option, or the {@link tools}. */
  readonly executor: CommandExecutor
  readonly #log: Logger
  readonly #events: TypedEmitter<DeviceClientEvents>
  readonly #lifecycle: ConnectionLifecycle
  readonly #judge: FailureJudge
  readonly #results: ResultsSender
  readonly #commands: CommandRunner
  readonly #tasks: DeviceTasks
  readonly #telemetry: TelemetryReporter
  readonly #settings: ConnectionSettings
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
  #offTelemetry: (() => void) | undefined

  constructor (options: DeviceClientOptions) {
    this.options = resolveOptions(options)
    const { logger, clientId } = this.options
    this.#log = typeof (logger as { child?: unknown }).child === 'function'
      ? (logger as Logger & { child: (b: object) => Logger }).child({ component: 'aip-device-client', clientId })
      : logger
    this.#events = new TypedEmitter<DeviceClientEvents>((err, event) => this.#log.error({ err, event }, 'event listener threw'))
    this.#lifecycle = new ConnectionLifecycle(({ state, previous }) => {
      this.#log.debug({ from: previous.kind, to: state.kind }, 'state changed')
      this.#events.emit('state', { state, previous })
      this.#events.emit(state.kind as 'connecting', state as never)
    })
    this.#judge = new FailureJudge(this.options.now)
    this.tools = new ToolRegistry(this.options.tools, {
      namespace: this.options.namespace,
      timeoutMs: this.options.toolTimeoutMs,
      earlyExit: this.options.earlyExit
    })
    this.executor = this.options.executor ?? this.tools
    this.#telemetry = new TelemetryReporter({
      clientId,
      executor: this.executor,
      customMetadata: this.options.customMetadata,
      supportedFeatures: this.options.supportedFeatures,
      intervalMs: this.options.telemetryIntervalMs,
      log: this.#log,
      onSent: (systemInfo) => this.#events.emit('telemetrySent', { systemInfo })
    })
    this.#offTelemetry = this.executor.onTelemetryChange?.(() => {
      const connection = this.#connection
      if (connection !== undefined && this.isConnected()) this.#telemetry.push(connection.protocol)
    })
    this.#results = new ResultsSender({
      maxEntries: this.options.maxPendingResults,
      maxAgeMs: this.options.pendingResultsTtlMs,
      now: this.options.now,
      log: this.#log,
      connection: () => this.isConnected() ? this.#connection?.protocol : undefined,
      onSent: (entry, queuedMs) => {
        this.#events.emit('resultsSent', { sessionId: entry.sessionId, prevResponseId: entry.message.prev_response_id, queuedMs })
      },
      onDropped: (entry, reason) => {
        this.#events.emit('resultsDropped', { sessionId: entry.sessionId, prevResponseId: entry.message.prev_response_id, reason })
      }
    })
    this.#tasks = new DeviceTasks({
      clientId,
      platform: this.options.platform,
      ackTimeoutMs: this.options.timeoutMs,
      log: this.#log,
      stopped: () => this.#stopped,
      onError: (err, context) => this.#emitError(err, context)
    })
    this.#commands = new CommandRunner({
      executor: this.executor,
      clientId,
      log: this.#log,
      deliver: (results) => { this.#results.send(results).catch((err: unknown) => this.#emitError(err, 'command')) },
      onError: (err) => this.#emitError(err, 'command')
    })
    this.#settings = {
      url: this.options.wsUrl,
      clientId,
      headers: this.options.headers,
      timeoutMs: this.options.timeoutMs,
      heartbeatIntervalMs: this.options.heartbeatIntervalMs,
      maxMissedHeartbeats: this.options.maxMissedHeartbeats,
      pingIntervalMs: this.options.pingIntervalMs,
      deadAfterMs: this.options.deadAfterMs,
      logger: this.#log
    }
  }

  /** The client id this device registers with. */
  get clientId (): string {
    return this.options.clientId
  }

  /** The current state (a frozen discriminated union on `kind`). */
  get status (): ClientState {
    return this.#lifecycle.state
  }

  /** Results waiting for a connection. */
  get pendingResults (): number {
    return this.#results.size
  }

  /** True while registered on an open connection. */
  isConnected (): boolean {
    return this.#lifecycle.state.kind === 'registered' && this.#connection?.isOpen === true
  }

  /** Subscribes to an event; returns the function that unsubscribes. */
  on<K extends keyof DeviceClientEvents>(event: K, listener: (payload: DeviceClientEvents[K]) => void): Unsubscribe {
    return this.#events.on(event, listener)
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
    this.#log.info({ url: redactUrl(this.options.wsUrl) }, 'device client starting')
    this.#apply({ type: 'connect', attempt: 0 })
    this.#firstConnect().catch((err: unknown) => this.#emitError(err, 'start'))
    return this.#started
  }

  /**
   * Stops heartbeats and reconnection, aborts running tools, drops kept results, and closes the connection cleanly
   * (1000). Resolves when no socket and no timer of this client is left.
   */
  stop (): Promise<void> {
    this.#stopping ??= this.#shutdown()
    return this.#stopping
  }

  /**
   * One reconnection attempt, called by the `ReconnectionStrategy`: opens a connection and registers. Resolves
   * true when registered; throws the classified failure otherwise. A fatal failure also ends the loop.
   */
  async reconnectDevice (deviceId: string, options: { signal?: AbortSignal } = {}): Promise<boolean> {
    if (deviceId !== this.options.clientId || this.#stopped) return false
    const signal = options.signal ?? this.#stopController.signal
    this.#apply({ type: 'connect', attempt: this.#attempt })
    try {
      const connection = await Connection.open(this.#settings, this.#registration(), signal)
      return this.#attach(connection)
    } catch (err) {
      const failure = toAttemptError(err)
      this.#lastCause = failure.disconnect
      const verdict = this.#judgeFailure(failure)
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
  cancelDeviceTasks (deviceId: string, reason: string): void {
    this.#log.debug({ deviceId, reason }, 'connection lost; running tools go on and their results are kept')
  }

  /**
   * Sends a device-originated TASK and resolves with its TASK_END (`completed` or `failed`: read `status`). Its
   * COMMANDs run through this client's tools meanwhile. Rejects with `AIP_ERR_DEVICE_NOT_REGISTERED`,
   * `AIP_ERR_DEVICE_TASK_REFUSED` (the server's ERROR), `AIP_ERR_DEVICE_TASK_TIMEOUT`, `AIP_ERR_DEVICE_TASK_ABORTED`,
   * `AIP_ERR_DEVICE_DISCONNECTED` or `AIP_ERR_DEVICE_STOPPED`. Acks are awaited one task at a time, so concurrent
   * calls never take each other's ack.
   */
  async startTask (request: string, options: StartTaskOptions = {}): Promise<DecodedServerMessage> {
    if (this.#stopped) throw new StoppedError()
    if (typeof request !== 'string' || request === '') throw new InvalidArgumentError('request', 'a non-empty string is required')
    const connection = this.#connection
    if (connection === undefined || !this.isConnected()) throw new NotRegisteredError(this.#lifecycle.state.kind)
    return await this.#tasks.start(connection.protocol, request, options)
  }

  // -------------------------------------------------------------------------------------------------------
  // Connection life

  #registration (): ReturnType<typeof buildDeviceRegistration> {
    return buildDeviceRegistration({ clientId: this.options.clientId, platform: this.options.platform, systemInfo: this.systemInfo() })
  }

  async #firstConnect (): Promise<void> {
    let connection: Connection
    try {
      connection = await Connection.open(this.#settings, this.#registration(), this.#stopController.signal)
    } catch (err) {
      if (this.#stopped) return
      const failure = toAttemptError(err)
      this.#lastCause = failure.disconnect
      const verdict = this.#judgeFailure(failure)
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
      connection.close(CloseCode.GoingAway, 'device stopping')
      return false
    }
    this.#connection = connection
    this.#judge.registered()
    const { protocol } = connection
    protocol.onMessage('command', (message) => { this.#commands.run(message) })
    protocol.onMessage('task_end', (message) => { this.#onTaskEnd(message) })
    protocol.onMessage('task', (message) => {
      this.#events.emit('serverTask', { sessionId: message.session_id, taskName: message.task_name, request: message.user_request })
      this.#tasks.answerServerTask(protocol, message)
    })
    protocol.onMessage('error', (message) => {
      this.#log.warn({ error: message.error, sessionId: message.session_id }, 'server error')
      this.#events.emit('serverError', { error: message.error, sessionId: message.session_id })
    })
    protocol.on('invalidFrame', ({ error }) => this.#log.warn({ err: error }, 'invalid frame from the server'))
    connection.ended.then((end) => this.#onEnded(connection, end)).catch((err: unknown) => this.#emitError(err, 'connection'))
    this.#telemetry.refreshWhile(connection.protocol, connection.ended)
    this.#attempt = 0
    this.#log.info({ url: redactUrl(this.options.wsUrl) }, 'registered')
    this.#apply({ type: 'registered', at: this.options.now() })
    this.#results.flush().catch((err: unknown) => this.#emitError(err, 'flush'))
    return true
  }

  #onEnded (connection: Connection, end: ConnectionEnd): void {
    if (this.#connection === connection) this.#connection = undefined
    const { info, cause } = end
    this.#log.warn({ code: info.code, reason: info.reason, cause: cause.kind }, 'disconnected')
    this.#events.emit('disconnected', { code: info.code, reason: info.reason, cause })
    if (this.#stopped || cause.kind === 'local') return
    if (cause.kind === 'closed') {
      const verdict = this.#judge.judge({ closeCode: info.code, wasRegistered: true })
      if (!verdict.retry) {
        this.#fail('fatal', verdict.reason, new AttemptError(cause, { closeCode: info.code }))
        return
      }
    }
    this.#lastCause = cause
    this.#loopDone = this.#reconnect(cause).catch((err: unknown) => this.#emitError(err, 'reconnect'))
  }

  async #reconnect (cause: DisconnectCause): Promise<void> {
    const strategy = this.options.reconnectionStrategy
    const loop = new AbortController()
    this.#loop = loop
    const onStop = (): void => loop.abort()
    this.#stopController.signal.addEventListener('abort', onStop, { once: true })
    this.#lastCause = cause
    const offAttempt = strategy.on('attempt', ({ deviceId, attempt, delayMs }) => {
      if (deviceId !== this.options.clientId || loop.signal.aborted) return
      this.#attempt = attempt
      this.#apply({ type: 'retry', attempt, delayMs, cause: this.#lastCause ?? cause })
    })
    try {
      const reconnected = await strategy.attemptReconnection(this, this.options.clientId, { signal: loop.signal })
      if (!reconnected && !this.#stopped) this.#fail('exhausted', this.#judge.last?.reason)
    } catch (err) {
      if (this.#fatal !== undefined) this.#fail('fatal', this.#fatal.reason, this.#fatal.failure)
      else if (!this.#stopped) this.#fail('exhausted', this.#judge.last?.reason, toAttemptError(err))
    } finally {
      offAttempt()
      this.#stopController.signal.removeEventListener('abort', onStop)
      if (this.#loop === loop) this.#loop = undefined
    }
  }

  /** Classifies a failed attempt: the one place that decides is the {@link FailureJudge} of `@aip/endpoint`. */
  #judgeFailure (failure: AttemptError): ReturnType<FailureJudge['judge']> {
    return this.#judge.judge(failure.facts)
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
    this.#results.clear()
  }

  async #shutdown (): Promise<void> {
    if (this.#stopped) {
      await this.#connection?.ended
      return
    }
    this.#halt()
    await this.#loopDone
    const connection = this.#connection
    if (connection !== undefined) {
      connection.close(CloseCode.Normal, 'device stopping')
      let timer: NodeJS.Timeout | undefined
      const late = new Promise<'late'>((resolve) => { timer = setTimeout(() => resolve('late'), STOP_GRACE_MS) })
      if (await Promise.race([connection.ended, late]) === 'late') connection.terminate()
      clearTimeout(timer)
      await connection.ended
    }
    this.#log.info({}, 'device client stopped')
    this.#apply({ type: 'stop' })
  }

  // -------------------------------------------------------------------------------------------------------
  // Commands and results

  #onTaskEnd (message: DecodedServerMessage): void {
    const sessionId = message.session_id
    this.#commands.endSession(sessionId)
    this.#results.endSession(sessionId)
    this.#events.emit('taskEnd', { sessionId, status: message.status, error: message.error })
  }

  /** The one place the client's state changes: an event through the shared lifecycle. */
  #apply (event: ConnectionEvent): void {
    if (!this.#lifecycle.apply(event)) this.#log.debug({ from: this.#lifecycle.state.kind, event: event.type }, 'state change ignored')
  }

  #emitError (error: unknown, context: string): void {
    this.#log.error({ err: error, context }, 'device client error')
    this.#events.emit('error', { error, context })
  }
}

function toAttemptError (err: unknown): AttemptError {
  if (err instanceof AttemptError) return err
  return new AttemptError({ kind: 'connect', message: err instanceof Error ? err.message : String(err), error: err }, {})
}
