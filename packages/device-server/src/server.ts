import type { IncomingMessage, Server as HttpServer } from 'node:http'
import {
  AIPEndpoint, CloseCode, SERVER_LIFECYCLE, WebSocketTransport, type IncomingMessage as AipIncoming, type OutgoingMessage,
  type ServerState, type Transport
} from '@aip/endpoint'
import { drainCloseReason, sanitizeTaskName } from '@aip/protocol'
import { describeValue } from '@aip/resilience'
import type { WebSocket } from 'ws'
import { accept, connectionClosed, connectionInvalidFrame, connectionOf, connectionQueueFull, connectionTransportClosed } from './accept.js'
import type { AIPProtocol, CloseInfo, ProtocolEvents } from '@aip/endpoint'
import { endAway, type AwayClient } from './away.js'
import { attachToHttpServer } from './adapters/node-http.js'
import { TRUSTED, authenticate, type AuthResult } from './auth.js'
import type { ClientConnection } from './connection.js'
import { ServerCore, setTaskMeter, type TaskMeter } from './core.js'
import { ClusterRuntime } from './cluster/runtime.js'
import type { ClusterClient, ClusterSessionInfo, ClusterState } from './cluster/link.js'
import { listClusterSessions, sessionInfo } from './cluster/sessions.js'
import { PROBE_MARGIN_MS } from './cluster/registration.js'
import { dispatchTask } from './dispatch.js'
import { closeSpread } from './drain-close.js'
import { InvalidOptionError, ServerStoppedError, SessionCancelledError } from './errors.js'
import { PresenceHub } from './presence.js'
import { onMessage } from './router.js'
import { resolveOptions, type DeviceServerOptions, type ResolvedServerOptions } from './options.js'
import type { ClientRecord } from './registry.js'
import type { TaskRecord } from './results.js'
import { Texts } from './texts.js'
import type {
  CancelReason, ClientActivity, DeviceServerEvents, DeviceServerStats, DispatchInfo, DispatchOptions, DispatchedTask, DrainOptions,
  DrainResult, SessionInfo
} from './types.js'

export type {
  CancelReason, ClientActivity, DeviceServerEvents, DeviceServerStats, DispatchInfo, DispatchOptions, DispatchedTask, DrainOptions,
  DrainResult, SessionInfo
} from './types.js'

/**
 * The device-agent server: accepts device and constellation connections, pins their identity, runs an agent per
 * task that drives the device with COMMANDs, and ends every task with exactly one TASK_END to its requester.
 * Framework-agnostic: give it upgraded `ws` sockets ({@link handleWebSocket}), any {@link Transport}
 * ({@link handleTransport}), or let it serve the upgrades of a Node HTTP server ({@link attach}).
 *
 * It is an {@link AIPEndpoint} (role `server`): every connection is attached to the endpoint's connection table
 * and runs through its own `AIPProtocol`, so `use(extension)` sees every frame in and out of every connection.
 * **Connection keys**: a connection is keyed by its connection id (`c1`, `c2`...) from the moment it is accepted;
 * once registered, its client id names it too. `isConnected(key)`, `sendWithTimeout(message, timeoutMs, key)` and
 * `receiveWithTimeout(type, timeoutMs, key)` take either. **Lifecycle** (`state`, `stateChange`): `created` →
 * `started` → `listening` (on {@link start}, or the first connection) ⇄ `handling` (while at least one task
 * runs) → `stopped`.
 *
 * Each concern has its file: `accept.ts` (a connection's listeners, deadline, pings), `router.ts` (messages by
 * type), `registration.ts` (REGISTER policy, takeover, leaving), `task-admission.ts` (TASK checks),
 * `task-runner.ts` (the agent and its COMMANDs), `task-end.ts` (TASK_END), `dispatch.ts` (server TASKs).
 */
export class DeviceServerEndpoint extends AIPEndpoint<'server', DeviceServerEvents, ServerState> {
  /** The validated options, frozen. */
  declare readonly options: ResolvedServerOptions
  readonly #core: ServerCore

  /** @throws `AIP_ERR_INVALID_OPTION` on a bad option (fields `option`, `expected`, `received`) */
  constructor (options: DeviceServerOptions = {}) {
    const resolved = resolveOptions(options)
    super('server', {
      logger: resolved.logger,
      defaultTimeoutMs: resolved.defaultTimeoutMs,
      extensions: resolved.extensions,
      // A server takes no file transfer: a transfer frame is an invalid frame, a binary frame is refused.
      protocol: { maxFrameBytes: resolved.maxPayloadBytes, maxQueuedFrames: resolved.maxQueuedFrames, acceptTransfers: false, clock: resolved.now }
    }, SERVER_LIFECYCLE)
    ;(this as { options: ResolvedServerOptions }).options = resolved
    this.#core = new ServerCore({
      options: resolved,
      events: this.events,
      onDeviceDisconnected: async (deviceId) => { await this.onDeviceDisconnected(deviceId) },
      attach: (transport, connectionId) => {
        this.#listen()
        return super.attachConnection(transport, connectionId)
      },
      onLoadChange: () => this.#loadChanged()
    })
    if (resolved.cluster !== null) this.#core.cluster = new ClusterRuntime(this.#core, resolved.cluster)
    if (resolved.presence !== 'off') new PresenceHub(this.#core) // eslint-disable-line no-new
  }

  /** Starts accepting connections: `created` → `started` → `listening`. The first connection does it too. */
  async start (): Promise<void> {
    if (this.#core.stopped) throw new ServerStoppedError()
    this.#listen()
  }

  #listen (): void {
    if (this.state !== 'created') return
    this.transition('started')
    this.#core.cluster?.start()
    this.transition('listening')
  }

  #loadChanged (): void {
    const running = this.#core.sessions.size > 0
    if (running && this.state === 'listening') this.transition('handling')
    else if (!running && this.state === 'handling') this.transition('listening')
  }

  /** Handles one message of the connection `key` (its connection id), in order: the protocol calls it. */
  handleMessage (message: AipIncoming<'server'>, _key: string, protocol: AIPProtocol<'server'>): void | Promise<void> {
    const connection = connectionOf(protocol)
    if (connection === undefined) return undefined
    return onMessage(this.#core, connection, message, protocol.frameLength)
  }

  /** A frame of a connection could not be decoded: answered and counted (see the endpoint). */
  protected override handleInvalidFrame (event: ProtocolEvents<'server'>['invalidFrame'], _key: string, protocol: AIPProtocol<'server'>): void {
    const connection = connectionOf(protocol)
    if (connection !== undefined) connectionInvalidFrame(this.#core, connection, event)
  }

  /** A connection has too many frames waiting: it is closed (see the endpoint). */
  protected override handleQueueFull (_event: ProtocolEvents<'server'>['queueFull'], _key: string, protocol: AIPProtocol<'server'>): void {
    const connection = connectionOf(protocol)
    if (connection !== undefined) connectionQueueFull(this.#core, connection)
  }

  /** A connection's transport has closed: nothing more is sent or handled on it (see the endpoint). */
  protected override handleTransportClose (info: CloseInfo, _key: string, protocol: AIPProtocol<'server'>): void {
    const connection = connectionOf(protocol)
    if (connection !== undefined) connectionTransportClosed(this.#core, connection, info)
  }

  /** A connection has closed, its frames handled: it unregisters (see the endpoint). */
  protected override handleClose (info: CloseInfo, _key: string, protocol: AIPProtocol<'server'>): void {
    const connection = connectionOf(protocol)
    if (connection !== undefined) connectionClosed(this.#core, connection, info)
  }

  /** The connection-table key of a client id (or connection id). */
  #key (key: string | undefined): string | undefined {
    return key === undefined ? undefined : (this.#core.clients.get(key)?.connectionId ?? key)
  }

  /**
   * Is this client id registered, or this connection id open? Without a key: the only connection (throws
   * `AIP_ERR_INVALID_ARGUMENT` when there are several).
   */
  override isConnected (key?: string): boolean {
    if (key !== undefined && this.#core.clients.has(key)) return true
    return super.isConnected(this.#key(key))
  }

  /** Sends `message` on the connection of a client id (or connection id) within `timeoutMs`; see `AIPEndpoint`. */
  override async sendWithTimeout (message: OutgoingMessage<'server'>, timeoutMs?: number, key?: string): Promise<void> {
    await super.sendWithTimeout(message, timeoutMs, this.#key(key))
  }

  /** Waits for a message of `type` on the connection of a client id (or connection id); see `AIPEndpoint`. */
  override async receiveWithTimeout (type: AipIncoming<'server'>['type'] | '*', timeoutMs?: number, key?: string): Promise<AipIncoming<'server'>> {
    return await super.receiveWithTimeout(type, timeoutMs, this.#key(key))
  }

  /** Decides from the upgrade request whether a WebSocket may be opened (token, Origin, Host). */
  authenticate (request: Pick<IncomingMessage, 'url' | 'headers'>): AuthResult {
    return authenticate(request, this.options)
  }

  /**
   * Serves the WebSocket upgrades of `server` on `path` (default `/ws`): refused requests get an HTTP 401 or
   * 403 before any WebSocket exists. Returns a function that detaches it.
   */
  attach (server: HttpServer, options?: { path?: string }): () => void {
    const path = options?.path ?? '/ws'
    const core = this.#core
    return attachToHttpServer({
      logger: this.options.logger,
      maxPayloadBytes: this.options.maxPayloadBytes,
      get stopped () { return core.stopped },
      get draining () { return core.draining },
      authenticate: (request) => this.authenticate(request),
      accept: (transport, credential) => { accept(core, transport, credential) }
    }, server, path)
  }

  /**
   * Takes over an upgraded `ws` socket. Auth is decided once: pass the {@link AuthResult} the caller already
   * decided before the upgrade (with {@link authenticate}), or the upgrade request, which is then checked here
   * (token, Origin, Host). A refused one is closed with 1008 at once.
   */
  handleWebSocket (socket: WebSocket, request: Pick<IncomingMessage, 'url' | 'headers'> | AuthResult): void {
    this.handleTransport(new WebSocketTransport(socket), request)
  }

  /**
   * Takes over any {@link Transport} (an in-memory one in tests), with an auth decision already made, or the
   * upgrade request to decide it from. Without either, no credential is checked (a trusted, in-process peer).
   */
  handleTransport (transport: Transport, request?: Pick<IncomingMessage, 'url' | 'headers'> | AuthResult): void {
    const auth: AuthResult = request === undefined
      ? { ok: true, boundClientId: null, credential: TRUSTED }
      : 'ok' in request ? request : this.authenticate(request)
    if (!auth.ok) {
      this.options.logger.warn({ reason: auth.reason }, 'websocket refused')
      this.#refuse(transport, CloseCode.PolicyViolation, auth.reason)
      return
    }
    if (this.#core.stopped) {
      this.#refuse(transport, CloseCode.GoingAway, Texts.serverShuttingDown)
      return
    }
    if (this.#core.draining) {
      this.#refuse(transport, CloseCode.ServiceRestart, Texts.serverDraining)
      return
    }
    accept(this.#core, transport, auth.credential)
  }

  /**
   * Closes a transport it does not take; until its close handshake completes (a peer may never answer) it is held,
   * so that {@link terminateConnections} drops it with the connections.
   */
  #refuse (transport: Transport, code: number, reason: string): void {
    const refused = this.#core.refused
    refused.add(transport)
    transport.on('close', () => { refused.delete(transport) })
    transport.close(code, reason)
  }

  /**
   * The registered clients, those away included (their connection dropped and their resume window runs): their
   * records carry `away: true` and `awaySince`.
   */
  listClients (): ClientRecord[] {
    const away = this.#core.away
    const list = this.options.registry.list()
    if (away.size === 0) return list
    return list.map((record) => {
      const entry = away.get(record.clientId)
      return entry === undefined ? record : { ...record, away: true, awaySince: entry.since }
    })
  }

  /** Running sessions. */
  get sessionCount (): number {
    return this.#core.sessions.size
  }

  /** Open connections, registered or not. */
  override get connectionCount (): number {
    return this.#core.connections.size
  }

  /** The running sessions, oldest first. */
  listSessions (): SessionInfo[] {
    return this.#core.sessions.list().map((session) => sessionInfo(this.#core, session))
  }

  /** A running session; `undefined` when none runs under this id (see {@link getResult} for finished ones). */
  getSession (sessionId: string): SessionInfo | undefined {
    const session = this.#core.sessions.get(sessionId)
    return session === undefined ? undefined : sessionInfo(this.#core, session)
  }

  /** The tasks sent by {@link dispatch} and not ended. */
  listDispatches (): DispatchInfo[] {
    const core = this.#core
    const list: DispatchInfo[] = []
    for (const [deviceId, pending] of core.dispatches.entries()) {
      list.push({ deviceId, sessionId: pending.sessionId, taskName: pending.taskName, running: core.sessions.get(pending.sessionId) !== undefined })
    }
    // In a cluster: those sent to devices on other nodes too.
    if (core.cluster !== null) list.push(...core.cluster.dispatches.list())
    return list
  }

  /**
   * Drops every open connection at once (no close handshake), after sending a close frame with `code` and
   * `reason` where it can: for a host whose shutdown deadline passed. Connections it refused (while stopping or
   * draining, or for their credentials) whose close handshake has not completed are dropped too. Returns how many
   * were dropped.
   */
  terminateConnections (code: number = CloseCode.GoingAway, reason = Texts.serverShuttingDown): number {
    const open = [...this.#core.connections]
    for (const connection of open) {
      connection.close(code, reason)
      connection.transport.terminate()
    }
    const refused = [...this.#core.refused]
    for (const transport of refused) transport.terminate()
    return open.length + refused.length
  }

  /** Internal: the collector told of every task and COMMAND (see `TaskMeter`), or `null`. */
  [setTaskMeter] (meter: TaskMeter | null): void {
    this.#core.meter = meter
  }

  /** Load figures, computed now (the queued frames are summed over the connections). */
  stats (): DeviceServerStats {
    const core = this.#core
    let queuedFrames = 0
    for (const connection of core.connections) queuedFrames += connection.queued
    const pendingDispatches = core.dispatches.notTakenUp((sessionId) => core.sessions.get(sessionId) !== undefined)
    return {
      connections: core.connections.size,
      sessions: core.sessions.size,
      pendingDispatches,
      queuedFrames,
      draining: core.draining,
      awayClients: core.away.size,
      fencedFrames: core.fencedFrames
    }
  }

  /**
   * Liveness and load of a registered client's connection, or of a client away inside its resume window (`away`,
   * `awaySince`); `undefined` when it is neither.
   */
  clientActivity (clientId: string): ClientActivity | undefined {
    const core = this.#core
    const connection = core.clients.get(clientId)
    const away = connection === undefined ? core.away.get(clientId) : undefined
    if (connection === undefined && away === undefined) return undefined
    let runningTasks = 0
    for (const session of core.sessions.list()) {
      if (session.deviceId === clientId || session.requesterId === clientId) runningTasks++
    }
    const pendingTasks = core.dispatches.notTakenUp((sessionId) => core.sessions.get(sessionId) !== undefined, clientId)
    return {
      lastSeenAt: connection?.lastSeen ?? (away as AwayClient).since,
      away: away !== undefined,
      awaySince: away?.since ?? null,
      epoch: (connection?.identity ?? away?.identity)?.epoch ?? 0,
      queuedFrames: connection?.queued ?? 0,
      runningTasks,
      pendingTasks
    }
  }

  /**
   * Drains before a restart: new tasks are refused (a TASK gets an ERROR saying the server is draining,
   * `dispatch()` throws `AIP_ERR_SERVER_DRAINING`) and new connections are closed with 1012, while running tasks
   * go on until they end or `deadlineMs` passes. Then it stops as {@link stop} does (what still runs is cancelled),
   * except that every connection is closed with 1012 and the reconnect hint `aip-drain retry-ms=<drainRetryMs>`,
   * the closes spread over `drainReconnectSpreadMs`, so that clients reconnect (to another server, or to this one
   * restarted) without coming back all at once. Resolves once every connection is closed.
   */
  async drain ({ deadlineMs = 30_000, signal }: DrainOptions = {}): Promise<DrainResult> {
    if (!Number.isInteger(deadlineMs) || deadlineMs < 0) throw new InvalidOptionError('deadlineMs', 'an integer >= 0', describeValue(deadlineMs))
    const core = this.#core
    if (core.stopped) return { finished: 0, cancelled: 0 }
    core.draining = true
    const running = core.sessions.list()
    this.options.logger.info({ sessions: running.length, deadlineMs }, 'draining: new tasks refused')
    if (running.length > 0 && signal?.aborted !== true) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, deadlineMs)
        function done (): void {
          clearTimeout(timer)
          signal?.removeEventListener('abort', done)
          resolve()
        }
        signal?.addEventListener('abort', done, { once: true })
        Promise.all(running.map((session) => core.ended(session))).then(done, done)
      })
    }
    const cancelled = running.filter((session) => !session.ended).length
    if (cancelled > 0) this.options.logger.warn({ cancelled, deadlineMs }, 'drain deadline passed: cancelling the tasks still running')
    const { drainRetryMs, drainReconnectSpreadMs } = this.options
    await this.#shutdown((open) => closeSpread(open, CloseCode.ServiceRestart, drainCloseReason(drainRetryMs), drainReconnectSpreadMs))
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
   * The state of the link to the cluster store (`ready`, `reconnecting`, `down`...), for a health check; `null`
   * without a `cluster` option.
   */
  get clusterState (): ClusterState | null {
    return this.options.cluster?.state ?? null
  }

  /**
   * Every registered client of the cluster, with the node holding it, in client id order. Without a `cluster`
   * option: this server's clients (`nodeId` `local`, `epoch` of their registration).
   * @throws `AIP_ERR_CLUSTER_UNAVAILABLE` when the cluster store cannot be reached
   */
  async listClusterClients (): Promise<ClusterClient[]> {
    const cluster = this.#core.cluster
    if (cluster === null) {
      return this.listClients().map((record) => ({
        clientId: record.clientId,
        clientType: record.clientType,
        targetId: record.targetId,
        platform: record.platform,
        systemInfo: record.systemInfo as Record<string, unknown> | null,
        registeredAt: record.registeredAt,
        nodeId: 'local',
        epoch: this.#core.epochOf(record.clientId)
      }))
    }
    try {
      return await cluster.link.listClients()
    } catch (err) {
      throw cluster.unavailable('list clients', err)
    }
  }

  /**
   * The sessions running on every node of the cluster, oldest first, each with the `nodeId` running it. Each other
   * live node is asked; one that does not answer within `takeoverProbeMs` plus a second is left out (and logged).
   * Without a `cluster` option: this server's sessions (`nodeId` `local`).
   * @throws `AIP_ERR_CLUSTER_UNAVAILABLE` when the cluster store cannot be reached
   */
  async listClusterSessions (): Promise<ClusterSessionInfo[]> {
    const cluster = this.#core.cluster
    if (cluster === null) return this.listSessions().map((session) => ({ ...session, nodeId: 'local' }))
    try {
      return await listClusterSessions(cluster, this.options.takeoverProbeMs + PROBE_MARGIN_MS)
    } catch (err) {
      throw cluster.unavailable('list sessions', err)
    }
  }

  /**
   * The record of a finished task, from this server or (in a cluster) from any node, while it is kept.
   * @throws `AIP_ERR_CLUSTER_UNAVAILABLE` when it is not here and the cluster store cannot be reached
   */
  async getClusterResult (sessionId: string): Promise<TaskRecord | undefined> {
    const local = this.getResult(sessionId)
    const cluster = this.#core.cluster
    if (local !== undefined || cluster === null) return local
    try {
      return await cluster.link.getResult(sessionId)
    } catch (err) {
      throw cluster.unavailable('get result', err)
    }
  }

  /**
   * The latest finished task with this name, from this server or (in a cluster) from any node, while it is kept.
   * @throws `AIP_ERR_CLUSTER_UNAVAILABLE` when it is not here and the cluster store cannot be reached
   */
  async getClusterResultByTaskName (taskName: string): Promise<TaskRecord | undefined> {
    const local = this.getResultByTaskName(taskName)
    const cluster = this.#core.cluster
    if (local !== undefined || cluster === null) return local
    try {
      return await cluster.link.getResultByTaskName(sanitizeTaskName(taskName))
    } catch (err) {
      throw cluster.unavailable('get result', err)
    }
  }

  /**
   * Sends a task to a device the way the reference `/api/dispatch` does: a server TASK that the device turns into
   * its own TASK. The session id returned is the one the task really runs under. A device away inside its resume
   * window gets the server TASK when it resumes (`done` rejects with `AIP_ERR_SERVER_CLIENT_NOT_CONNECTED` when it
   * does not come back); an unknown device throws that error at once. In a cluster, a device connected to another
   * node gets the task through that node, where it runs: this resolves once that node took it (or rejects with its
   * refusal, as a local dispatch would), `done` settles with the record made there, the deadline, the signal and
   * `cancelSession()` reach it there, and the loss of that node ends it with a failed record.
   * @throws `AIP_ERR_CLUSTER_UNAVAILABLE` for a device not on this node while the cluster store cannot be reached
   */
  async dispatch (deviceId: string, request: string, options: DispatchOptions = {}): Promise<DispatchedTask> {
    return dispatchTask(this.#core, deviceId, request, options)
  }

  /**
   * Cancels every session that involves `deviceId` (as executor or requester) with `reason`. Requesters still
   * connected get TASK_END failed. Returns the number of sessions cancelled.
   */
  override cancelDeviceTasks (deviceId: string, reason: CancelReason | string = 'cancelled'): number {
    let cancelled = 0
    for (const session of this.#core.sessions.list()) {
      if (session.deviceId === deviceId || session.requesterId === deviceId) {
        this.#core.cancelSession(session, reason as CancelReason)
        cancelled++
      }
    }
    return cancelled
  }

  /**
   * Called after a device's connection is gone and its sessions were cancelled. Override it in a subclass to
   * react (alert, re-route work); errors it throws are logged.
   */
  override async onDeviceDisconnected (deviceId: string): Promise<void> {
    await super.onDeviceDisconnected(deviceId)
  }

  /**
   * Cancels one session: its agent's signal aborts, its requester gets TASK_END failed and its device a copy. A task
   * sent by {@link dispatch} that the device has not taken up yet is cancelled too (its `done` rejects with
   * `AIP_ERR_SERVER_SESSION_CANCELLED`). False when neither runs under this id.
   */
  cancelSession (sessionId: string, reason: CancelReason = 'cancelled'): boolean {
    const core = this.#core
    const session = core.sessions.get(sessionId)
    if (session !== undefined) {
      core.cancelSession(session, reason)
      return true
    }
    for (const [deviceId, pending] of core.dispatches.entries()) {
      if (pending.sessionId !== sessionId) continue
      core.logger.info({ sessionId, reason }, 'dispatched task cancelled before the device took it up')
      core.dispatches.settle(deviceId, sessionId, new SessionCancelledError(sessionId, reason))
      return true
    }
    // A session this node forwarded to a device on another node: cancelled there.
    return core.cluster?.cancelForwardedSession(sessionId, reason) ?? false
  }

  /**
   * Stops accepting connections, ends every running task with TASK_END failed to requesters still connected,
   * then closes every connection with 1001 (going away). Resolves when every connection is closed.
   */
  override async stop (): Promise<void> {
    await this.#shutdown(null)
  }

  /** Stops; the connections still open at the end are closed by `close` (a drain), or with 1001. */
  async #shutdown (close: ((open: ClientConnection[]) => Promise<void>) | null): Promise<void> {
    const core = this.#core
    if (core.stopped) return
    core.stopped = true
    for (const session of core.sessions.list()) core.cancelSession(session, 'server_stopping')
    // Clients away will not come back to this server: they are gone (their sessions were cancelled just above).
    await Promise.all([...core.away.keys()].map(async (clientId) => { await endAway(core, clientId) }))
    await Promise.all(core.sessions.list().map((session) => core.ended(session)))
    core.commandDeadlines.clear()
    if (close !== null) {
      await close([...core.connections])
    } else {
      const closed = [...core.connections].map((connection) => new Promise<void>((resolve) => {
        if (connection.closed) { resolve(); return }
        connection.transport.on('close', () => resolve())
        connection.close(CloseCode.GoingAway, Texts.serverShuttingDown)
      }))
      await Promise.all(closed)
    }
    core.dispatches.rejectAll(() => new ServerStoppedError())
    await core.cluster?.stop()
    // The base releases what is left (extensions, deadlines), moves to `stopped` and drops every listener.
    await super.stop(CloseCode.GoingAway, Texts.serverShuttingDown)
  }
}
