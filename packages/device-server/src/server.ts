import type { IncomingMessage, Server as HttpServer } from 'node:http'
import type { Duplex } from 'node:stream'
import {
  CloseCode, SpanKind, TRACEPARENT, WebSocketTransport, childLogger, parseTraceparent, startTraceSpan, type Logger,
  type TraceSpan, type Transport
} from '@aip/endpoint'
import {
  buildCommand, buildDeviceInfoResponse, buildRegistrationConfirmation, buildServerError, buildServerHeartbeat,
  buildServerTask, buildTaskAck, buildTaskEnd, decodeClientMessage, deviceInfoUnavailable, encodeServerMessage, newId,
  sanitizeTaskName, type Command, type DecodedServerMessage, type DecodedClientMessage, type DeviceSystemInfo, type Result
} from '@aip/protocol'
import { TypedEmitter, type Unsubscribe } from '@aip/resilience'
import { WebSocketServer, type WebSocket } from 'ws'
import type { AgentContext, AgentOutcome, AgentTask, ExecuteOptions } from './agent.js'
import { TRUSTED, authenticate, type AuthResult, type Credential } from './auth.js'
import { ClientConnection, type Identity } from './connection.js'
import {
  ClientNotConnectedError, CommandTimeoutError, InvalidOptionError, RequestTooLargeError, ServerDrainingError, ServerStoppedError,
  TooManyDispatchesError, SessionCancelledError, TaskFailedError
} from './errors.js'
import { resolveOptions, type DeviceServerOptions, type ResolvedServerOptions } from './options.js'
import type { ClientRecord } from './registry.js'
import type { TaskRecord } from './results.js'
import { Session } from './session.js'
import { MAX_ID_CHARS, Texts, clip, echoId } from './texts.js'

/** Why a session was cancelled; `reason` of the task's AbortSignal. */
export type CancelReason = 'device_disconnected' | 'requester_disconnected' | 'server_stopping' | 'cancelled'

/** Events of {@link DeviceServerEndpoint}. */
export interface DeviceServerEvents {
  /** A client registered (after its HEARTBEAT ok was sent). */
  clientRegistered: ClientRecord
  /** A registered client's connection closed. */
  clientDisconnected: { clientId: string, clientType: 'device' | 'constellation', code: number, reason: string }
  /** A task was accepted and its ack sent. */
  sessionStarted: { sessionId: string, taskName: string, requesterId: string, deviceId: string }
  /** A task ended; its record is in the result store. */
  taskEnd: TaskRecord
  /** A connection's REGISTER was refused (`reason` is one of a small fixed set, e.g. `duplicate client_id`). */
  registrationRefused: { reason: string }
  /** A COMMAND was answered, timed out or abandoned. */
  commandEnd: { sessionId: string, deviceId: string, durationMs: number, status: 'ok' | 'timeout' | 'cancelled' }
  /** A frame of a connection was refused: a decoding error code, `binary_frame` or `too_many_frames`. */
  frameRejected: { code: string }
  /** A registered device pushed fresh telemetry (a DEVICE_INFO_RESPONSE); its record's `systemInfo` holds it. */
  clientTelemetry: { clientId: string }
}

/** Load figures of a {@link DeviceServerEndpoint}, read at once (see {@link DeviceServerEndpoint.stats}). */
export interface DeviceServerStats {
  /** Open connections, registered or not. */
  readonly connections: number
  /** Running sessions. */
  readonly sessions: number
  /** Server TASKs sent to devices and not taken up yet. */
  readonly pendingDispatches: number
  /** Frames received and waiting to be handled, over every connection. */
  readonly queuedFrames: number
  /** True once {@link DeviceServerEndpoint.drain} was called: new tasks are refused. */
  readonly draining: boolean
}

/** Options of {@link DeviceServerEndpoint.drain}. */
export interface DrainOptions {
  /** How long running tasks may go on before they are cancelled. Default 30000. */
  deadlineMs?: number
  /** Ends the wait at once, as the deadline would. */
  signal?: AbortSignal
}

/** What {@link DeviceServerEndpoint.drain} resolves with. */
export interface DrainResult {
  /** Tasks that were running when the drain began and ended on their own before the deadline. */
  readonly finished: number
  /** Tasks still running at the deadline, cancelled (their requesters got TASK_END failed). */
  readonly cancelled: number
}

/** What {@link DeviceServerEndpoint.clientActivity} tells of a registered client's connection. */
export interface ClientActivity {
  /** When the last frame or pong of the connection arrived (milliseconds since the epoch). */
  readonly lastSeenAt: number
  /** Frames received and waiting to be handled. */
  readonly queuedFrames: number
  /** Running sessions this client executes (as device) or requested. */
  readonly runningTasks: number
  /** Server TASKs sent to this device and not taken up yet. */
  readonly pendingTasks: number
}

/** Options of {@link DeviceServerEndpoint.dispatch}. */
export interface DispatchOptions {
  taskName?: string
  /** Rejects and cancels the task after this long. Default: the endpoint's `dispatchTimeoutMs` (10 minutes). */
  timeoutMs?: number
  signal?: AbortSignal
}

/** A task dispatched to a device by the server itself (the reference `/api/dispatch`). */
export interface DispatchedTask {
  /** The session id the task runs under; the server TASK carries it, and the device's TASK is bound to it. */
  readonly sessionId: string
  readonly taskName: string
  /** Resolves with the task's record at its TASK_END. */
  readonly done: Promise<TaskRecord>
}

interface PendingDispatch {
  sessionId: string
  taskName: string
  request: string
  resolve: (record: TaskRecord) => void
  reject: (err: Error) => void
}

/**
 * The device-agent server: accepts device and constellation connections, pins their identity, runs an agent per
 * task that drives the device with COMMANDs, and ends every task with exactly one TASK_END to its requester.
 * Framework-agnostic: give it upgraded `ws` sockets ({@link handleWebSocket}), any {@link Transport}
 * ({@link handleTransport}), or let it serve the upgrades of a Node HTTP server ({@link attach}).
 */
export class DeviceServerEndpoint {
  readonly options: ResolvedServerOptions
  readonly #logger: Logger
  readonly #events: TypedEmitter<DeviceServerEvents>
  /** Live connections by registered client id. */
  readonly #clients = new Map<string, ClientConnection>()
  /** Every open connection, registered or not. */
  readonly #connections = new Set<ClientConnection>()
  readonly #sessions = new Map<string, Session>()
  readonly #dispatches = new Map<string, PendingDispatch[]>()
  /** Running sessions and the bytes of their TASK frames, by requester: each client's share is bounded. */
  readonly #usage = new Map<string, { sessions: number, bytes: number }>()
  #stopped = false
  #draining = false
  #nextConnection = 0

  constructor (options: DeviceServerOptions = {}) {
    this.options = resolveOptions(options)
    this.#logger = this.options.logger
    this.#events = new TypedEmitter<DeviceServerEvents>((err, event) => this.#logger.error({ err, event }, 'event listener failed'))
  }

  /** Subscribes to an event; returns the function that unsubscribes. */
  on<E extends keyof DeviceServerEvents>(event: E, listener: (payload: DeviceServerEvents[E]) => void): Unsubscribe {
    return this.#events.on(event, listener)
  }

  /** Decides from the upgrade request whether a WebSocket may be opened (token, Origin, Host). */
  authenticate (request: Pick<IncomingMessage, 'url' | 'headers'>): AuthResult {
    return authenticate(request, this.options)
  }

  /**
   * Serves the WebSocket upgrades of `server` on `path` (default `/ws`): refused requests get an HTTP 401 or
   * 403 before any WebSocket exists. Returns a function that detaches it.
   */
  attach (server: HttpServer, { path = '/ws' }: { path?: string } = {}): () => void {
    const wss = new WebSocketServer({ noServer: true, maxPayload: this.options.maxPayloadBytes })
    const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
      const pathname = (request.url ?? '').split('?')[0]
      if (pathname !== path) return
      const auth = this.authenticate(request)
      if (!auth.ok || this.#stopped) {
        const status = auth.ok ? 503 : auth.status
        this.#logger.warn({ status, reason: auth.ok ? 'stopped' : auth.reason, remote: request.socket.remoteAddress }, 'websocket upgrade refused')
        socket.end(`HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : 'Service Unavailable'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
        return
      }
      wss.handleUpgrade(request, socket, head, (ws) => {
        if (this.#draining) ws.close(CloseCode.ServiceRestart, Texts.serverDraining)
        else this.#accept(new WebSocketTransport(ws), auth.credential)
      })
    }
    server.on('upgrade', onUpgrade)
    return () => {
      server.off('upgrade', onUpgrade)
      wss.close()
    }
  }

  /**
   * Takes over an upgraded `ws` socket. The request is checked again (token, Origin, Host); a refused one is
   * closed with 1008 at once.
   */
  handleWebSocket (socket: WebSocket, request: Pick<IncomingMessage, 'url' | 'headers'>): void {
    this.handleTransport(new WebSocketTransport(socket), request)
  }

  /** Takes over any {@link Transport} (an in-memory one in tests). Without a request, no credential is checked. */
  handleTransport (transport: Transport, request?: Pick<IncomingMessage, 'url' | 'headers'>): void {
    const auth: AuthResult = request === undefined ? { ok: true, boundClientId: null, credential: TRUSTED } : this.authenticate(request)
    if (!auth.ok) {
      this.#logger.warn({ reason: auth.reason }, 'websocket refused')
      transport.close(CloseCode.PolicyViolation, auth.reason)
      return
    }
    if (this.#stopped) {
      transport.close(CloseCode.GoingAway, Texts.serverShuttingDown)
      return
    }
    if (this.#draining) {
      transport.close(CloseCode.ServiceRestart, Texts.serverDraining)
      return
    }
    this.#accept(transport, auth.credential)
  }

  /** Is a client with this id connected and registered? */
  isConnected (clientId: string): boolean {
    return this.#clients.has(clientId)
  }

  /** The registered clients. */
  listClients (): ClientRecord[] {
    return this.options.registry.list()
  }

  /** Running sessions. */
  get sessionCount (): number {
    return this.#sessions.size
  }

  /** Open connections, registered or not. */
  get connectionCount (): number {
    return this.#connections.size
  }

  /** Load figures, computed now (the queued frames are summed over the connections). */
  stats (): DeviceServerStats {
    let queuedFrames = 0
    for (const connection of this.#connections) queuedFrames += connection.queued
    let pendingDispatches = 0
    for (const list of this.#dispatches.values()) pendingDispatches += this.#notTakenUp(list)
    return { connections: this.#connections.size, sessions: this.#sessions.size, pendingDispatches, queuedFrames, draining: this.#draining }
  }

  /** Liveness and load of a registered client's connection; `undefined` when it is not connected. */
  clientActivity (clientId: string): ClientActivity | undefined {
    const connection = this.#clients.get(clientId)
    if (connection === undefined) return undefined
    let runningTasks = 0
    for (const session of this.#sessions.values()) {
      if (session.deviceId === clientId || session.requesterId === clientId) runningTasks++
    }
    const pendingTasks = this.#notTakenUp(this.#dispatches.get(clientId) ?? [])
    return { lastSeenAt: connection.lastSeen, queuedFrames: connection.queued, runningTasks, pendingTasks }
  }

  /** Dispatches whose session is not running yet. */
  #notTakenUp (list: readonly PendingDispatch[]): number {
    let count = 0
    for (const pending of list) if (!this.#sessions.has(pending.sessionId)) count++
    return count
  }

  /**
   * Drains before a restart: new tasks are refused (a TASK gets an ERROR saying the server is draining,
   * `dispatch()` throws `AIP_ERR_SERVER_DRAINING`) and new connections are closed with 1012, while running tasks
   * go on until they end or `deadlineMs` passes. Then it {@link stop}s: what still runs is cancelled and every
   * connection is closed with 1001, so that clients reconnect (to another server, or to this one restarted).
   */
  async drain ({ deadlineMs = 30_000, signal }: DrainOptions = {}): Promise<DrainResult> {
    if (!Number.isInteger(deadlineMs) || deadlineMs < 0) throw new InvalidOptionError('deadlineMs', 'expected an integer >= 0')
    if (this.#stopped) return { finished: 0, cancelled: 0 }
    this.#draining = true
    const running = [...this.#sessions.values()]
    this.#logger.info({ sessions: running.length, deadlineMs }, 'draining: new tasks refused')
    if (running.length > 0 && signal?.aborted !== true) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, deadlineMs)
        function done (): void {
          clearTimeout(timer)
          signal?.removeEventListener('abort', done)
          resolve()
        }
        signal?.addEventListener('abort', done, { once: true })
        Promise.all(running.map((session) => this.#ended(session))).then(done, done)
      })
    }
    const cancelled = running.filter((session) => !session.ended).length
    if (cancelled > 0) this.#logger.warn({ cancelled, deadlineMs }, 'drain deadline passed: cancelling the tasks still running')
    await this.stop()
    return { finished: running.length - cancelled, cancelled }
  }

  /** The record of a finished task, while it is kept. */
  getResult (sessionId: string): TaskRecord | undefined {
    return this.options.results.getBySession(sessionId)
  }

  /** The latest finished task with this (sanitised) name, while it is kept. */
  getResultByTaskName (taskName: string): TaskRecord | undefined {
    return this.options.results.getByTaskName(sanitizeTaskName(taskName))
  }

  /**
   * Sends a task to a device the way the reference `/api/dispatch` does: a server TASK that the device turns into
   * its own TASK. The session id returned is the one the task really runs under.
   */
  async dispatch (deviceId: string, request: string, options: DispatchOptions = {}): Promise<DispatchedTask> {
    if (this.#stopped) throw new ServerStoppedError()
    if (this.#draining) throw new ServerDrainingError()
    // An aborted signal fires no 'abort' event: refuse it here, or `done` would never settle.
    options.signal?.throwIfAborted()
    if (requestTooLarge(request, this.options.maxRequestBytes)) throw new RequestTooLargeError(this.options.maxRequestBytes)
    const connection = this.#clients.get(deviceId)
    if (connection?.identity?.clientType !== 'device') throw new ClientNotConnectedError(deviceId)
    if ((this.#dispatches.get(deviceId)?.length ?? 0) >= this.options.maxDispatchesPerDevice) {
      throw new TooManyDispatchesError(deviceId, this.options.maxDispatchesPerDevice)
    }
    const sessionId = newId()
    const taskName = sanitizeTaskName(options.taskName ?? sessionId)
    let pending!: PendingDispatch
    const done = new Promise<TaskRecord>((resolve, reject) => {
      pending = { sessionId, taskName, request, resolve, reject }
    })
    const list = this.#dispatches.get(deviceId) ?? []
    list.push(pending)
    this.#dispatches.set(deviceId, list)
    const stop = this.#bindDispatchLimits(deviceId, pending, options)
    done.then(stop, stop)
    const sent = connection.send(buildServerTask({ sessionId, taskName, userRequest: request }))
    if (!sent) this.#settleDispatch(deviceId, sessionId, new ClientNotConnectedError(deviceId))
    return { sessionId, taskName, done }
  }

  /**
   * Cancels every session that involves `deviceId` (as executor or requester) with `reason`. Requesters still
   * connected get TASK_END failed. Returns the number of sessions cancelled.
   */
  cancelDeviceTasks (deviceId: string, reason: CancelReason = 'cancelled'): number {
    let cancelled = 0
    for (const session of [...this.#sessions.values()]) {
      if (session.deviceId === deviceId || session.requesterId === deviceId) {
        this.#cancelSession(session, reason)
        cancelled++
      }
    }
    return cancelled
  }

  /**
   * Called after a device's connection is gone and its sessions were cancelled. Override it in a subclass to
   * react (alert, re-route work); errors it throws are logged.
   */
  async onDeviceDisconnected (_deviceId: string): Promise<void> {}

  /** Cancels one session; false when it is not running. */
  cancelSession (sessionId: string, reason: CancelReason = 'cancelled'): boolean {
    const session = this.#sessions.get(sessionId)
    if (session === undefined) return false
    this.#cancelSession(session, reason)
    return true
  }

  /**
   * Stops accepting connections, ends every running task with TASK_END failed to requesters still connected,
   * then closes every connection with 1001 (going away). Resolves when every connection is closed.
   */
  async stop (): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    for (const session of [...this.#sessions.values()]) this.#cancelSession(session, 'server_stopping')
    await Promise.all([...this.#sessions.values()].map((session) => this.#ended(session)))
    const closed = [...this.#connections].map((connection) => new Promise<void>((resolve) => {
      if (connection.closed) { resolve(); return }
      connection.transport.on('close', () => resolve())
      connection.close(CloseCode.GoingAway, Texts.serverShuttingDown)
    }))
    await Promise.all(closed)
    for (const [deviceId, list] of this.#dispatches) {
      for (const pending of list) pending.reject(new ServerStoppedError())
      this.#dispatches.delete(deviceId)
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Connections

  #accept (transport: Transport, credential: Credential): void {
    const connectionId = `c${++this.#nextConnection}`
    // No child logger per connection (one per socket, for a few error lines): they carry connectionId themselves.
    const connection = new ClientConnection(transport, {
      connectionId, credential, now: this.options.now, logger: this.#logger, maxOutboundBytes: this.options.maxOutboundBytes
    })
    this.#connections.add(connection)
    // Listeners first, synchronously: no frame may arrive unheard.
    transport.on('message', (data) => {
      // A peer over its outbound budget is being dropped: what it still sends is not read.
      if (connection.overBudget) return
      connection.seen()
      if (connection.queued >= this.options.maxQueuedFrames) {
        this.#logger.warn({ connectionId, clientId: connection.identity?.clientId }, 'too many frames in flight: closing')
        connection.close(CloseCode.PolicyViolation, 'too many frames in flight')
        this.#events.emit('frameRejected', { code: 'too_many_frames' })
        return
      }
      connection.enqueue(() => this.#onFrame(connection, data))
    })
    // Activity is read only by the ping timer below.
    if (this.options.pingIntervalMs > 0) transport.on('pong', () => connection.seen())
    transport.on('error', (err) => this.#logger.debug({ err, connectionId }, 'transport error'))
    transport.on('close', (info) => {
      connection.closed = true
      connection.closeInfo = info
      connection.dispose()
      this.#connections.delete(connection)
      // Handled after the frames already queued, so that their effects happen first.
      connection.enqueue(() => this.#onClose(connection, info.code, info.reason))
    })
    connection.registrationTimer = connection.timer(this.options.registrationTimeoutMs, () => {
      if (connection.identity !== null || connection.closed) return
      this.#logger.info({ connectionId }, 'no REGISTER in time')
      connection.sendAndClose(serverError({ error: Texts.registrationTimeout(this.options.registrationTimeoutMs) }), CloseCode.RegistrationTimeout, 'registration timeout')
    })
    const interval = this.options.pingIntervalMs
    if (interval > 0) {
      connection.timer(interval, () => {
        if (this.options.now() - connection.lastSeen >= 2 * interval) {
          this.#logger.warn({ clientId: connection.identity?.clientId, connectionId }, 'peer unresponsive: dropping the connection')
          connection.close(CloseCode.PeerUnresponsive, 'peer unresponsive')
          connection.transport.terminate()
          return
        }
        connection.transport.ping()
      }, true)
    }
  }

  #onFrame (connection: ClientConnection, data: string | Buffer): Promise<void> | undefined {
    if (connection.closed) return
    if (typeof data !== 'string') {
      // Never a silent drop (B17): say why, then close with 1003.
      connection.sendAndClose(serverError({ error: Texts.binaryNotAccepted }), CloseCode.UnsupportedData, 'binary frame')
      this.#events.emit('frameRejected', { code: 'binary_frame' })
      return
    }
    const decoded = decodeClientMessage(data, { maxBytes: this.options.maxPayloadBytes })
    if (connection.identity === null) {
      return this.#register(connection, decoded)
    }
    if (!decoded.ok) {
      this.#logger.debug({ clientId: connection.identity.clientId, code: decoded.error.code }, 'malformed frame')
      this.#events.emit('frameRejected', { code: decoded.error.code })
      connection.send(serverError({ error: decoded.error.message, sessionId: decoded.correlation?.sessionId, responseId: decoded.correlation?.requestId }))
      return
    }
    this.#onMessage(connection, connection.identity, decoded.value, data.length)
    return undefined
  }

  async #onClose (connection: ClientConnection, code: number, reason: string): Promise<void> {
    const identity = connection.identity
    if (identity === null || this.#clients.get(identity.clientId) !== connection) return
    this.#clients.delete(identity.clientId)
    this.options.registry.remove(identity.clientId)
    this.#logger.info({ clientId: identity.clientId, clientType: identity.clientType, code }, 'client disconnected')
    if (identity.clientType === 'device') {
      for (const session of [...this.#sessions.values()]) {
        if (session.deviceId === identity.clientId) this.#cancelSession(session, 'device_disconnected')
      }
      const dispatches = this.#dispatches.get(identity.clientId) ?? []
      this.#dispatches.delete(identity.clientId)
      for (const pending of dispatches) pending.reject(new ClientNotConnectedError(identity.clientId))
      await this.onDeviceDisconnected(identity.clientId).catch((err: unknown) => {
        this.#logger.error({ err, deviceId: identity.clientId }, 'onDeviceDisconnected failed')
      })
    }
    for (const session of [...this.#sessions.values()]) {
      if (session.requesterId === identity.clientId) this.#cancelSession(session, 'requester_disconnected')
    }
    this.#events.emit('clientDisconnected', { clientId: identity.clientId, clientType: identity.clientType, code, reason })
  }

  // ---------------------------------------------------------------------------------------------------------
  // Registration

  #refuse (connection: ClientConnection, error: string, logReason: string, fields: Record<string, unknown> = {}): void {
    this.#logger.info({ connectionId: connection.connectionId, reason: logReason, ...fields }, 'registration refused')
    connection.sendAndClose(serverError({ error }), CloseCode.RegistrationRefused, logReason)
    this.#events.emit('registrationRefused', { reason: logReason })
  }

  async #register (connection: ClientConnection, decoded: ReturnType<typeof decodeClientMessage>): Promise<void> {
    if (!decoded.ok) {
      this.#refuse(connection, decoded.error.message, 'invalid first frame')
      return
    }
    const message = decoded.value
    if (message.type !== 'register') {
      this.#refuse(connection, Texts.firstMessageNotRegister, 'first frame not REGISTER', { type: message.type })
      return
    }
    const clientId = message.client_id
    if (clientId === null || clientId === '') {
      this.#refuse(connection, Texts.registerNeedsClientId, 'no client_id')
      return
    }
    if (clientId.length > MAX_ID_CHARS || (message.target_id?.length ?? 0) > MAX_ID_CHARS) {
      this.#refuse(connection, Texts.idTooLong(clientId.length > MAX_ID_CHARS ? 'client_id' : 'target_id'), 'id too long')
      return
    }
    const clientType = message.client_type
    const targetId = clientType === 'constellation' ? message.target_id : null
    const credential = connection.credential
    if (credential.kind === 'client') {
      const { binding } = credential
      if (credential.clientId !== clientId) {
        this.#refuse(connection, Texts.clientIdNotAllowed, 'client key bound to another id', { clientId })
        return
      }
      if (binding.clientType !== clientType) {
        this.#refuse(connection, Texts.clientTypeNotAllowed, 'client key bound to another role', { clientId, clientType })
        return
      }
      if (clientType === 'constellation' && binding.targets !== null && (targetId === null || !binding.targets.has(targetId))) {
        this.#refuse(connection, Texts.targetNotAllowed, 'client key does not allow this target', { clientId, targetId })
        return
      }
    } else if (credential.kind === 'shared' && this.options.clientKeys.has(clientId)) {
      // An id with its own key is registered only with that key: the shared token cannot take it, nor lock it out.
      this.#refuse(connection, Texts.clientIdNeedsOwnKey, 'client id has its own key', { clientId })
      return
    }
    if (targetId !== null) {
      const target = this.#clients.get(targetId)
      if (target === undefined) {
        this.#refuse(connection, Texts.targetNotConnected(targetId), 'target not connected', { clientId, targetId })
        return
      }
      if (target.identity?.clientType !== 'device') {
        this.#refuse(connection, Texts.targetIsNotDevice(targetId), 'target not a device', { clientId, targetId })
        return
      }
    }
    const existing = this.#clients.get(clientId)
    if (existing !== undefined) {
      // Only the same credential may take a registered id over: a per-client key's owner, or, when the id has no
      // key, any connection once the old socket is proven dead (no pong, no frame within takeoverProbeMs).
      if (!sameCredential(existing.credential, credential)) {
        this.#refuse(connection, Texts.duplicateClient(clientId), 'duplicate client_id (other credential)', { clientId })
        return
      }
      // A device whose old socket is dead takes over at once instead of being locked out until it times out.
      const alive = await existing.probe(this.options.takeoverProbeMs)
      if (alive || connection.closed || this.#clients.get(clientId) !== existing) {
        this.#refuse(connection, Texts.duplicateClient(clientId), 'duplicate client_id', { clientId })
        return
      }
      this.#logger.warn({ clientId }, 'old connection did not answer a ping: replaced by the new one')
      existing.close(CloseCode.Replaced, Texts.replaced)
      existing.transport.terminate()
      await this.#onClose(existing, CloseCode.Replaced, Texts.replaced)
    }
    if (connection.closed) return
    const metadata = message.metadata
    const systemInfo = clientType === 'device' && isObject(metadata?.system_info) ? metadata.system_info : null
    const platform = clientType === 'device' && typeof metadata?.platform === 'string' ? metadata.platform : null
    const identity: Identity = { clientId, clientType, targetId }
    const record: ClientRecord = {
      clientId,
      clientType,
      targetId,
      platform,
      systemInfo,
      metadata,
      registeredAt: this.options.now()
    }
    connection.identity = identity
    if (connection.registrationTimer !== null) connection.cancelTimer(connection.registrationTimer)
    connection.registrationTimer = null
    this.#clients.set(clientId, connection)
    this.options.registry.add(record)
    connection.send(buildRegistrationConfirmation())
    this.#logger.info({ clientId, clientType, targetId }, 'client registered')
    this.#events.emit('clientRegistered', record)
  }

  // ---------------------------------------------------------------------------------------------------------
  // Messages of registered clients

  #onMessage (connection: ClientConnection, identity: Identity, message: DecodedClientMessage, frameSize: number): void {
    if (message.client_id !== null && message.client_id !== identity.clientId) {
      connection.send(serverError({ error: Texts.clientIdMismatch, sessionId: message.session_id, responseId: message.request_id ?? undefined }))
      return
    }
    if (message.client_type !== identity.clientType) {
      connection.send(serverError({ error: Texts.clientTypeMismatch, sessionId: message.session_id, responseId: message.request_id ?? undefined }))
      return
    }
    switch (message.type) {
      case 'heartbeat':
        connection.send(buildServerHeartbeat())
        return
      case 'error':
        this.#logger.warn({ clientId: identity.clientId, sessionId: echoId(message.session_id), error: clip(message.error ?? '') }, 'client reported an error')
        connection.send(serverError({ error: message.error ?? Texts.unknownError, sessionId: message.session_id }))
        return
      case 'register':
      case 'task_end':
        connection.send(serverError({ error: Texts.unknownType(message.type), sessionId: message.session_id }))
        return
      case 'device_info_response':
        // The reference ignores it; we take it as a telemetry push from a device.
        if (identity.clientType === 'device' && isObject(message.metadata)) {
          const record = this.options.registry.get(identity.clientId)
          if (record !== undefined) {
            record.systemInfo = message.metadata
            this.#events.emit('clientTelemetry', { clientId: identity.clientId })
          }
        }
        return
      case 'device_info_request':
        this.#onDeviceInfoRequest(connection, identity, message)
        return
      case 'task':
        this.#onTask(connection, identity, message, frameSize)
        return
      case 'command_results':
        this.#onCommandResults(identity, message)
    }
  }

  #onDeviceInfoRequest (connection: ClientConnection, identity: Identity, message: DecodedClientMessage): void {
    const ids = { responseId: message.request_id ?? undefined }
    if (identity.clientType !== 'constellation') {
      connection.send(serverError({ error: Texts.deviceInfoOnlyConstellation, ...ids }))
      return
    }
    const deviceId = message.target_id ?? identity.targetId
    // Device info is scoped: an unscoped constellation reads nothing (B11).
    if (deviceId === null || identity.targetId !== deviceId) {
      connection.send(serverError({ error: Texts.deviceInfoNotAuthorized, ...ids }))
      return
    }
    const info = this.options.registry.get(deviceId)?.systemInfo ?? null
    connection.send(buildDeviceInfoResponse({ requestId: message.request_id ?? newId(), result: info ?? deviceInfoUnavailable(deviceId) }))
  }

  #onCommandResults (identity: Identity, message: DecodedClientMessage): void {
    const session = message.session_id === null ? undefined : this.#sessions.get(message.session_id)
    // Only the session's executor may answer, and only a COMMAND still waiting (the reference drops the rest).
    if (session === undefined || session.deviceId !== identity.clientId || message.prev_response_id === null ||
      !session.deliver(message.prev_response_id, message.action_results ?? [])) {
      this.#logger.debug({ clientId: identity.clientId, sessionId: message.session_id }, 'unexpected COMMAND_RESULTS dropped')
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Tasks

  #onTask (connection: ClientConnection, identity: Identity, message: DecodedClientMessage, frameSize: number): void {
    const fail = (error: string): boolean =>
      connection.send(serverError({ error, sessionId: message.session_id, responseId: message.request_id ?? undefined }))
    let deviceId: string
    if (identity.clientType === 'constellation') {
      const targetId = message.target_id
      if (targetId === null) { fail(Texts.constellationNeedsTarget); return }
      const target = this.#clients.get(targetId)
      if (target === undefined) { fail(Texts.targetNotConnected(targetId)); return }
      if (target.identity?.clientType !== 'device') { fail(Texts.targetNotDevice); return }
      if (identity.targetId !== null && identity.targetId !== targetId) { fail(Texts.taskNotAuthorized); return }
      deviceId = targetId
    } else {
      if (message.target_id !== null && message.target_id !== identity.clientId) { fail(Texts.deviceTargetsDevice); return }
      deviceId = identity.clientId
    }
    const request = message.request
    if (request === null || request === '') { fail(Texts.taskNeedsRequest); return }
    if (requestTooLarge(request, this.options.maxRequestBytes)) { fail(Texts.requestTooLong(this.options.maxRequestBytes)); return }
    if ((message.session_id?.length ?? 0) > MAX_ID_CHARS || (message.task_name?.length ?? 0) > MAX_ID_CHARS) {
      fail(Texts.idTooLong((message.session_id?.length ?? 0) > MAX_ID_CHARS ? 'session_id' : 'task_name'))
      return
    }
    const dispatch = identity.clientType === 'device' ? this.#claimDispatch(identity.clientId, message) : undefined
    const sessionId = message.session_id ?? dispatch?.sessionId ?? newId()
    const running = this.#sessions.get(sessionId)
    if (running !== undefined) {
      fail(running.requesterId === identity.clientId ? Texts.sessionRunning(sessionId) : Texts.sessionOwned(sessionId))
      return
    }
    const finished = this.options.results.getBySession(sessionId)
    if (finished !== undefined) {
      fail(finished.requesterId === identity.clientId ? Texts.sessionUsed(sessionId) : Texts.sessionOwned(sessionId))
      return
    }
    // A task already promised by a dispatch before the drain still runs; any other is refused.
    if (this.#draining && dispatch === undefined) { fail(Texts.serverDraining); return }
    if (this.#sessions.size >= this.options.maxSessions) { fail(Texts.tooManySessions); return }
    const usage = this.#usage.get(identity.clientId)
    if (usage !== undefined && usage.sessions >= this.options.maxSessionsPerClient) { fail(Texts.tooManyClientSessions); return }
    if ((usage?.bytes ?? 0) + frameSize > this.options.maxSessionBytesPerClient) { fail(Texts.clientSessionsTooLarge); return }
    const taskName = sanitizeTaskName(message.task_name ?? sessionId)
    const session = new Session({ id: sessionId, taskName, request, requesterId: identity.clientId, deviceId, startedAt: this.options.now(), sizeBytes: frameSize })
    this.#sessions.set(sessionId, session)
    this.#charge(identity.clientId, 1, frameSize)
    const parent = message.metadata?.[TRACEPARENT]
    session.trace = startTraceSpan('@aip/device-server', 'aip.task', {
      parent: typeof parent === 'string' ? parent : null,
      kind: SpanKind.SERVER,
      attributes: { 'aip.session_id': sessionId, 'aip.task_name': taskName, 'aip.device_id': deviceId }
    })
    session.propagateTrace = parseTraceparent(parent) !== null
    // The ack goes out before the agent starts, so it always precedes the first COMMAND (B16).
    connection.send(buildTaskAck({ sessionId }))
    this.#logger.info({ sessionId, taskName, requesterId: identity.clientId, deviceId, traceId: session.trace.traceId }, 'task started')
    this.#events.emit('sessionStarted', { sessionId, taskName, requesterId: identity.clientId, deviceId })
    // The agent runs beside the connection's frame queue: the queue must go on to deliver COMMAND_RESULTS.
    this.#run(session, message.metadata).catch((err: unknown) => this.#logger.error({ err, sessionId }, 'task runner failed'))
  }

  async #run (session: Session, metadata: Record<string, unknown> | null): Promise<void> {
    const device = this.options.registry.get(session.deviceId)
    const trace = session.trace as TraceSpan
    const task: AgentTask = {
      sessionId: session.id,
      taskName: session.taskName,
      request: session.request,
      requesterId: session.requesterId,
      deviceId: session.deviceId,
      platform: device?.platform ?? null,
      metadata,
      traceparent: trace.traceparent
    }
    // The signal and the child logger are made when first used: most agents read neither.
    let logger: Logger | undefined
    const taskLogger = (): Logger => (logger ??= childLogger(this.#logger, { sessionId: session.id, deviceId: session.deviceId, traceId: trace.traceId }))
    const context: AgentContext = {
      get signal () { return session.signal },
      get logger () { return taskLogger() },
      systemInfo: device?.systemInfo ?? null,
      execute: (commands, options) => this.#execute(session, commands, options)
    }
    let outcome: AgentOutcome
    try {
      outcome = await this.options.agent(task, context)
      if (outcome === null || typeof outcome !== 'object' || (outcome.status !== 'completed' && outcome.status !== 'failed')) {
        throw new TypeError('the agent returned no { status } outcome')
      }
    } catch (err) {
      outcome = { status: 'failed', error: this.#publicError(session, err) }
      if (!session.aborted && !(err instanceof TaskFailedError)) taskLogger().error({ err }, 'agent failed')
    }
    if (session.aborted) outcome = { status: 'failed', error: this.#cancelText(session.abortReason) }
    await this.#finish(session, outcome)
  }

  async #execute (session: Session, commands: readonly Command[], options: ExecuteOptions = {}): Promise<Result[]> {
    if (session.aborted) {
      throw session.abortReason instanceof Error ? session.abortReason : new SessionCancelledError(session.id, 'aborted')
    }
    const device = this.#clients.get(session.deviceId)
    if (device === undefined) throw new SessionCancelledError(session.id, 'device_disconnected')
    const command = buildCommand({
      sessionId: session.id,
      taskName: session.taskName,
      actions: commands,
      agentName: options.agentName ?? this.options.agentName,
      processName: options.processName ?? null,
      rootName: options.rootName ?? null
    })
    const responseId = command.response_id as string
    const timeoutMs = options.timeoutMs ?? this.options.commandTimeoutMs
    // Registered before the COMMAND is sent, so that a fast answer cannot be missed. The timeout, an abort of the
    // task or of `options.signal` all settle this one promise (no race, no second promise per command).
    const answer = session.expect(responseId)
    // Only a task that came with a trace context gives its COMMANDs one: a Python-only fleet sees reference frames.
    const span = session.trace === null ? null : startTraceSpan('@aip/device-server', 'aip.command', { parent: session.trace.traceparent, kind: SpanKind.CLIENT, attributes: { 'aip.session_id': session.id, 'aip.response_id': responseId } })
    const extra = span !== null && session.propagateTrace ? { [TRACEPARENT]: span.traceparent } : null
    const sentAt = performance.now()
    let status: DeviceServerEvents['commandEnd']['status'] = 'cancelled'
    const timer = setTimeout(() => session.fail(responseId, new CommandTimeoutError(responseId, timeoutMs)), timeoutMs)
    timer.unref()
    const onAbort = (): void => session.cancel(options.signal?.reason instanceof Error ? options.signal.reason : new SessionCancelledError(session.id, 'aborted'))
    options.signal?.addEventListener('abort', onAbort, { once: true })
    try {
      if (!device.send(command, extra)) throw new SessionCancelledError(session.id, 'device_disconnected')
      const results = await answer
      status = 'ok'
      session.steps.push({ request: session.request, result: results })
      return results
    } catch (err) {
      if (err instanceof CommandTimeoutError) status = 'timeout'
      throw err
    } finally {
      this.#events.emit('commandEnd', { sessionId: session.id, deviceId: session.deviceId, durationMs: performance.now() - sentAt, status })
      span?.end(status === 'ok' ? undefined : status)
      clearTimeout(timer)
      session.forget(responseId)
      options.signal?.removeEventListener('abort', onAbort)
    }
  }

  #publicError (session: Session, err: unknown): string {
    if (session.aborted) return this.#cancelText(session.abortReason)
    if (err instanceof TaskFailedError) return err.message
    if (err instanceof CommandTimeoutError) return Texts.commandTimedOut(Number(/(\d+) ms/.exec(err.message)?.[1] ?? 0))
    // The device went away between its close and the session's cancellation: say so, not "the agent failed".
    if (err instanceof SessionCancelledError) return this.#cancelText(err)
    return Texts.agentFailed
  }

  #cancelText (reason: unknown): string {
    const cause = reason instanceof SessionCancelledError ? /was cancelled: (.*)$/.exec(reason.message)?.[1] : undefined
    switch (cause) {
      case 'device_disconnected': return Texts.deviceDisconnected
      case 'requester_disconnected': return Texts.requesterDisconnected
      case 'server_stopping': return Texts.serverShuttingDown
      default: return Texts.taskCancelled(cause ?? 'cancelled')
    }
  }

  #cancelSession (session: Session, reason: CancelReason): void {
    if (session.aborted) return
    this.#logger.info({ sessionId: session.id, reason }, 'task cancelled')
    session.cancel(new SessionCancelledError(session.id, reason))
  }

  readonly #endWaiters = new Map<Session, Array<() => void>>()

  #ended (session: Session): Promise<void> {
    if (session.ended) return Promise.resolve()
    return new Promise((resolve) => {
      const list = this.#endWaiters.get(session) ?? []
      list.push(resolve)
      this.#endWaiters.set(session, list)
    })
  }

  async #finish (session: Session, outcome: AgentOutcome): Promise<void> {
    if (session.ended) return
    session.ended = true
    let result: unknown = outcome.result !== undefined ? outcome.result : session.steps
    let error: string | null = outcome.status === 'failed' ? (outcome.error ?? Texts.agentFailed) : (outcome.error ?? null)
    // Encoded first: a result JSON cannot hold (a cycle, a BigInt from a custom agent) must still end the task.
    let status = outcome.status
    let text: string
    try {
      text = encodeServerMessage(buildTaskEnd({ sessionId: session.id, status, result, error }), { validate: false })
    } catch (err) {
      this.#logger.error({ err, sessionId: session.id }, 'task result cannot be serialised')
      status = 'failed'
      error = Texts.resultNotSerialisable
      result = null
      text = encodeServerMessage(buildTaskEnd({ sessionId: session.id, status, result, error }), { validate: false })
    }
    const record: TaskRecord = {
      sessionId: session.id,
      taskName: session.taskName,
      requesterId: session.requesterId,
      deviceId: session.deviceId,
      request: session.request,
      status,
      error,
      result,
      startedAt: session.startedAt,
      endedAt: this.options.now(),
      sizeBytes: text.length + session.request.length
    }
    this.#sessions.delete(session.id)
    this.#charge(session.requesterId, -1, -session.sizeBytes)
    this.options.results.put(record)
    // One TASK_END, one response_id: to the requester and a copy to the device (the same connection for a
    // device's own task). A device whose requester left is told, so it stops working on the task (B4).
    const requester = this.#clients.get(session.requesterId)
    const device = session.deviceId === session.requesterId ? undefined : this.#clients.get(session.deviceId)
    requester?.sendText(text)
    device?.sendText(text)
    this.#logger.info({ sessionId: session.id, traceId: session.trace?.traceId, status: record.status, error: record.error }, 'task ended')
    session.trace?.end(record.status === 'failed' ? (record.error ?? 'failed') : undefined)
    this.#settleDispatch(session.deviceId, session.id, record)
    this.#events.emit('taskEnd', record)
    for (const resolve of this.#endWaiters.get(session) ?? []) resolve()
    this.#endWaiters.delete(session)
  }

  #charge (clientId: string, sessions: number, bytes: number): void {
    const usage = this.#usage.get(clientId) ?? { sessions: 0, bytes: 0 }
    usage.sessions += sessions
    usage.bytes += bytes
    if (usage.sessions <= 0) this.#usage.delete(clientId)
    else this.#usage.set(clientId, usage)
  }

  // ---------------------------------------------------------------------------------------------------------
  // HTTP-style dispatch

  #claimDispatch (deviceId: string, message: DecodedClientMessage): PendingDispatch | undefined {
    const list = this.#dispatches.get(deviceId)
    if (list === undefined) return undefined
    // Our device echoes the session id; the Python device sends none, but the same task name and request.
    const index = list.findIndex((pending) => message.session_id !== null
      ? pending.sessionId === message.session_id
      : pending.request === message.request && pending.taskName === sanitizeTaskName(message.task_name ?? ''))
    if (index === -1) return undefined
    return list[index]
  }

  #settleDispatch (deviceId: string, sessionId: string, outcome: TaskRecord | Error): void {
    const list = this.#dispatches.get(deviceId)
    const index = list?.findIndex((pending) => pending.sessionId === sessionId) ?? -1
    if (list === undefined || index === -1) return
    const [pending] = list.splice(index, 1)
    if (list.length === 0) this.#dispatches.delete(deviceId)
    if (outcome instanceof Error) pending?.reject(outcome)
    else pending?.resolve(outcome)
  }

  #bindDispatchLimits (deviceId: string, pending: PendingDispatch, options: DispatchOptions): () => void {
    const cancel = (err: Error): void => {
      // `done` rejects with the cause, whether or not the device has taken the task up; a running session ends
      // with that cause in its TASK_END ("Task was cancelled: timed out").
      this.#settleDispatch(deviceId, pending.sessionId, err)
      const session = this.#sessions.get(pending.sessionId)
      if (session !== undefined && !session.aborted) {
        this.#logger.info({ sessionId: session.id, reason: err.message }, 'dispatched task cancelled')
        session.cancel(err)
      }
    }
    const onAbort = (): void => cancel(new SessionCancelledError(pending.sessionId, 'aborted'))
    options.signal?.addEventListener('abort', onAbort, { once: true })
    // Every dispatch has a deadline: without one, a device that never takes the task up would hold it forever.
    const timer = setTimeout(() => cancel(new SessionCancelledError(pending.sessionId, 'timed out')), options.timeoutMs ?? this.options.dispatchTimeoutMs)
    timer.unref()
    return () => {
      clearTimeout(timer)
      options.signal?.removeEventListener('abort', onAbort)
    }
  }
}

/** May a connection holding `next` take over an id registered with `current`? Keys must be the same one. */
function sameCredential (current: Credential, next: Credential): boolean {
  if (current.kind !== 'client') return true
  return next.kind === 'client' && next.binding === current.binding
}

/** True when `request` is longer than `max` bytes of UTF-8 (measured exactly only when it may be). */
export function requestTooLarge (request: string, max: number): boolean {
  if (request.length > max) return true
  return request.length * 3 > max && Buffer.byteLength(request, 'utf8') > max
}

function isObject (value: unknown): value is Record<string, unknown> & DeviceSystemInfo {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * An ERROR that repeats no unbounded client text: its error cut to a few hundred characters, correlation ids too
 * long to be legitimate left out.
 */
function serverError (fields: { error: string, sessionId?: string | null, responseId?: string | null }): DecodedServerMessage {
  return buildServerError({ error: clip(fields.error), sessionId: echoId(fields.sessionId) ?? null, responseId: echoId(fields.responseId) })
}
