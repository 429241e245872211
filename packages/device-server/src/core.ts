import type { AIPProtocol, Logger, Transport } from '@aip/endpoint'
import { logsAt } from '@aip/endpoint/internal'
import { DeadlineQueue, type TypedEmitter } from '@aip/resilience'
import type { AwayClient } from './away.js'
import type { ClusterRuntime } from './cluster/runtime.js'
import { CommandDeadlines } from './command-deadlines.js'
import { connectionSettings, type ClientConnection, type ConnectionSettings } from './connection.js'
import { DispatchTable } from './dispatch-table.js'
import { CommandTimeoutError, SessionCancelledError } from './errors.js'
import type { ResolvedServerOptions } from './options.js'
import { expireRegistration } from './registration.js'
import type { Session } from './session.js'
import type { SessionStore } from './sessions.js'
import type { CancelReason, DeviceServerEvents } from './types.js'

/**
 * What a metrics collector is told on the task path, in plain arguments: no event object is built for it, and a
 * server without one times nothing. Internal (`@aip/device-server/internal`); fastify-aip's metrics use it.
 */
export interface TaskMeter {
  /** A task was accepted and its ack sent. */
  taskStarted: () => void
  /** A task ended, after `seconds` since its start. */
  taskEnded: (failed: boolean, seconds: number) => void
  /** A COMMAND was answered, timed out or abandoned, `seconds` after it was sent. */
  commandEnded: (status: 'ok' | 'timeout' | 'cancelled', seconds: number) => void
}

/** The method of `DeviceServerEndpoint` that sets its {@link TaskMeter} (`null`: none). Internal. */
export const setTaskMeter: unique symbol = Symbol('aip.deviceServer.setTaskMeter')

/** Most entries of `ServerCore.usage` kept at nothing (requesters running no task) before they are dropped. */
const MAX_IDLE_USAGES = 4096

/**
 * The state of one server, shared by the files that handle its connections, registrations and tasks. Internal:
 * `DeviceServerEndpoint` is the public face.
 */
export class ServerCore {
  readonly options: ResolvedServerOptions
  readonly logger: Logger
  readonly events: TypedEmitter<DeviceServerEvents>
  /** Live connections by registered client id. */
  readonly clients = new Map<string, ClientConnection>()
  /** Every open connection, registered or not. */
  readonly connections = new Set<ClientConnection>()
  /** Transports refused (closed at once) whose close handshake has not completed; usually none. */
  readonly refused = new Set<Transport>()
  /**
   * Clients granted `resume` whose connection dropped, by client id, while their resume window runs: not in
   * `clients`, still in the registry, their sessions held.
   */
  readonly away = new Map<string, AwayClient>()
  /** Frames dropped because their connection was no longer its client's current one. */
  fencedFrames = 0
  readonly sessions: SessionStore
  readonly dispatches = new DispatchTable()
  /**
   * Running sessions and the bytes of their TASK frames, by requester: each client's share is bounded. Requesters
   * running nothing keep zeroed entries, up to a bound (see `charge`).
   */
  readonly usage = new Map<string, { sessions: number, bytes: number }>()
  /** Resolvers waiting for a session's TASK_END (drain, stop). */
  readonly endWaiters = new Map<Session, Array<() => void>>()
  /** Called after a device's connection is gone and its sessions were cancelled (the endpoint's hook). */
  readonly onDeviceDisconnected: (deviceId: string) => Promise<void>
  /** Attaches a new connection to the endpoint's connection table under its connection id; returns its protocol. */
  readonly attach: (transport: Transport, connectionId: string) => AIPProtocol<'server'>
  /** Called when a session starts or ends (the endpoint moves between `listening` and `handling`). */
  readonly onLoadChange: () => void
  /** The registration deadlines of the connections (one timer for all). */
  /**
   * The registration deadlines of the open connections: one timer for all (every connection gets the same delay);
   * a connection's ticket is released once it registers or closes.
   */
  readonly registrationDeadlines: DeadlineQueue<ClientConnection>
  /** The timeouts of the COMMANDs sent with the default `commandTimeoutMs` (one timer for all). */
  readonly commandDeadlines: CommandDeadlines
  /** What every connection shares (clock, logger, outbound budget, the write failure logger). */
  readonly connectionSettings: ConnectionSettings
  /** The server's side of the cluster, when the `cluster` option is set; `null` on a single server. */
  cluster: ClusterRuntime | null = null
  /** Told of every task and COMMAND when metrics are collected (see {@link TaskMeter}); `null` otherwise. */
  meter: TaskMeter | null = null
  stopped = false
  draining = false
  #nextConnection = 0
  /** Entries of {@link usage} at nothing (their requesters run no task), kept for their next task (see {@link charge}). */
  #idleUsages = 0

  constructor (init: {
    options: ResolvedServerOptions
    events: TypedEmitter<DeviceServerEvents>
    onDeviceDisconnected: (deviceId: string) => Promise<void>
    attach: (transport: Transport, connectionId: string) => AIPProtocol<'server'>
    onLoadChange: () => void
  }) {
    this.options = init.options
    this.logger = init.options.logger
    this.sessions = init.options.sessions
    this.events = init.events
    this.onDeviceDisconnected = init.onDeviceDisconnected
    this.attach = init.attach
    this.onLoadChange = init.onLoadChange
    // A write that fails after it was handed over: the connection is gone, its close follows (and is logged with its
    // ids). One function for every connection: none holds a closure of its own for it.
    this.connectionSettings = connectionSettings({
      now: init.options.now,
      logger: this.logger,
      maxOutboundBytes: init.options.maxOutboundBytes,
      onSendError: (err) => { this.logger.debug({ err }, 'send failed: connection gone') }
    })
    this.registrationDeadlines = new DeadlineQueue<ClientConnection>(init.options.registrationTimeoutMs, (connection) => { expireRegistration(this, connection) })
    this.commandDeadlines = new CommandDeadlines(init.options.commandTimeoutMs, (session, responseId, timeoutMs) => {
      session.fail(responseId, new CommandTimeoutError(responseId, timeoutMs))
    })
  }

  /**
   * Would a line at `level` be written? False for a logger whose method of that level does nothing (the silent
   * logger, Fastify's `logger: false` one) and for a logger whose `isLevelEnabled` (pino's) says no; true otherwise.
   * Asked before building the fields of a line logged for every task or connection.
   */
  logs (level: 'debug' | 'info'): boolean {
    return logsAt(this.logger, level)
  }

  /**
   * The epoch of the latest registration of `clientId` while it is registered or away (its connection's identity, or
   * its away entry's); 0 once it is gone (the next registration is epoch 1).
   */
  epochOf (clientId: string): number {
    return (this.clients.get(clientId)?.identity ?? this.away.get(clientId)?.identity)?.epoch ?? 0
  }

  /** A fresh label for a connection not registered yet (`c1`, `c2`...). */
  nextConnectionId (): string {
    return `c${++this.#nextConnection}`
  }

  /** Cancels a running session: its agent's signal aborts, its waiting COMMANDs reject. */
  cancelSession (session: Session, reason: CancelReason): void {
    if (session.aborted) return
    this.logger.info({ sessionId: session.id, deviceId: session.deviceId, traceId: session.trace?.traceId, reason }, 'task cancelled')
    session.cancel(new SessionCancelledError(session.id, reason))
  }

  /** Adds (or, with negative figures, releases) a requester's share of running sessions and their bytes. */
  charge (clientId: string, sessions: number, bytes: number): void {
    let usage = this.usage.get(clientId)
    if (usage === undefined) {
      usage = { sessions: 0, bytes: 0 }
      this.usage.set(clientId, usage)
    } else if (usage.sessions === 0) {
      this.#idleUsages--
    }
    usage.sessions += sessions
    usage.bytes += bytes
    if (usage.sessions > 0) return
    usage.sessions = 0
    usage.bytes = 0
    // A requester whose share fell to nothing keeps its (zeroed) entry for its next task: requesters taking turns
    // (one task at a time each, as at light load) neither make an entry nor delete one per task (a Map that deletes
    // and adds at every task rebuilds its table now and then). Idle entries are dropped all at once past a bound.
    if (++this.#idleUsages <= MAX_IDLE_USAGES) return
    for (const [id, share] of this.usage) if (share.sessions === 0) this.usage.delete(id)
    this.#idleUsages = 0
  }

  /** Resolves once `session` has ended (at once when it has). */
  ended (session: Session): Promise<void> {
    if (session.ended) return Promise.resolve()
    return new Promise((resolve) => {
      const list = this.endWaiters.get(session) ?? []
      list.push(resolve)
      this.endWaiters.set(session, list)
    })
  }
}
