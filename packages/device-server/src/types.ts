import type { EndpointEvents } from '@aip/endpoint'
import type { ClientRecord } from './registry.js'
import type { TaskRecord } from './results.js'

/**
 * Why a session was cancelled; `reason` of the task's AbortSignal. The continuity extension adds
 * `device_not_resumed` / `requester_not_resumed` (the client's connection dropped and it did not come back within
 * the resume window), `cancelled by the requester` (a `task_cancel`) and `deadline passed` (the TASK's
 * `metadata.aip_timeout_ms`). The cluster adds `device moved to another node` (the device registered again on
 * another server of the cluster).
 */
export type CancelReason =
  | 'device_disconnected' | 'requester_disconnected' | 'server_stopping' | 'cancelled'
  | 'device_not_resumed' | 'requester_not_resumed' | 'cancelled by the requester' | 'deadline passed'
  | 'device moved to another node'

/**
 * Events of `DeviceServerEndpoint`: those of every endpoint (`connected` / `disconnected` per connection, keyed
 * by connection id; `stateChange` of the lifecycle; `error`; `deviceDisconnected`) and the server's own.
 */
export interface DeviceServerEvents extends EndpointEvents {
  /** A client registered (after its HEARTBEAT ok was sent). */
  clientRegistered: ClientRecord
  /**
   * A registered client is gone: its connection closed (a client granted `resume`: it left on purpose with a
   * normal close, or its resume window expired; `code` and `reason` are those of the close). Its sessions are
   * cancelled.
   */
  clientDisconnected: { clientId: string, clientType: 'device' | 'constellation', code: number, reason: string }
  /**
   * The connection of a client granted `resume` dropped: the client is away, its sessions wait for it for
   * `resumeWindowMs`. `clientResumed` or `clientDisconnected` follows.
   */
  clientAway: { clientId: string, clientType: 'device' | 'constellation', code: number, reason: string, resumeWindowMs: number }
  /**
   * An away client registered again within its resume window and took its sessions back (`epoch`: the new
   * registration's; `awayMs`: how long it was away). Outstanding COMMANDs were re-sent to a device.
   */
  clientResumed: { clientId: string, clientType: 'device' | 'constellation', epoch: number, awayMs: number, resentCommands: number }
  /**
   * A frame of a connection that is no longer the current one of its client id (replaced by a takeover or a
   * resume) was dropped unread.
   */
  frameFenced: { clientId: string, connectionId: string }
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

/** Load figures of a `DeviceServerEndpoint`, read at once (see `DeviceServerEndpoint.stats`). */
export interface DeviceServerStats {
  /** Open connections, registered or not. */
  readonly connections: number
  /** Running sessions. */
  readonly sessions: number
  /** Server TASKs sent to devices and not taken up yet. */
  readonly pendingDispatches: number
  /** Frames received and waiting to be handled, over every connection. */
  readonly queuedFrames: number
  /** True once `DeviceServerEndpoint.drain` was called: new tasks are refused. */
  readonly draining: boolean
  /** Clients away (their connection dropped, inside their resume window). */
  readonly awayClients: number
  /** Frames dropped since the start because their connection was no longer its client's current one. */
  readonly fencedFrames: number
}

/** Options of `DeviceServerEndpoint.drain`. */
export interface DrainOptions {
  /** How long running tasks may go on before they are cancelled. Default 30000. */
  deadlineMs?: number
  /** Ends the wait at once, as the deadline would. */
  signal?: AbortSignal
}

/** What `DeviceServerEndpoint.drain` resolves with. */
export interface DrainResult {
  /** Tasks that were running when the drain began and ended on their own before the deadline. */
  readonly finished: number
  /** Tasks still running at the deadline, cancelled (their requesters got TASK_END failed). */
  readonly cancelled: number
}

/** What `DeviceServerEndpoint.clientActivity` tells of a registered client's connection. */
export interface ClientActivity {
  /** When the last frame or pong of the connection arrived (milliseconds since the epoch). */
  readonly lastSeenAt: number
  /** True while the client is away: its connection dropped and its resume window runs (see `awaySince`). */
  readonly away: boolean
  /** When the client went away (milliseconds since the epoch), or `null` while it is connected. */
  readonly awaySince: number | null
  /** The epoch of the client's current (or, while away, latest) registration: it grows with every registration. */
  readonly epoch: number
  /** Frames received and waiting to be handled. */
  readonly queuedFrames: number
  /** Running sessions this client executes (as device) or requested. */
  readonly runningTasks: number
  /** Server TASKs sent to this device and not taken up yet. */
  readonly pendingTasks: number
}

/** Options of `DeviceServerEndpoint.dispatch`. */
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

/** A running session, as `DeviceServerEndpoint.listSessions` and `getSession` show it. */
export interface SessionInfo {
  readonly sessionId: string
  /** The sanitised task name. */
  readonly taskName: string
  /** The client that sent the TASK (a constellation, or the device itself). */
  readonly requesterId: string
  /** The device that runs it. */
  readonly deviceId: string
  /** Milliseconds since the epoch (the endpoint's clock). */
  readonly startedAt: number
  /** True while its device is away (inside its resume window): its COMMANDs wait for the device to resume. */
  readonly deviceAway: boolean
  /** True while its requester is away: its TASK_END, if it ends meanwhile, is kept for the requester's return. */
  readonly requesterAway: boolean
  /** When its deadline passes (milliseconds since the epoch), from the TASK's `metadata.aip_timeout_ms`; else `null`. */
  readonly deadlineAt: number | null
}

/** A task sent by `DeviceServerEndpoint.dispatch` and not ended, as `listDispatches` shows it. */
export interface DispatchInfo {
  readonly deviceId: string
  readonly sessionId: string
  readonly taskName: string
  /** True once the device took it up (its session runs). */
  readonly running: boolean
}
