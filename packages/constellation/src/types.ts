import type { EndpointEvents, FailureReason } from '@aip/endpoint'
import type { ContinuityGrant, DecodedServerMessage } from '@aip/protocol'
import type { DevicePresenceUpdate } from './presence.js'

/**
 * A device the constellation drives, as the reference's `AgentProfile`: where its server is and what it can do.
 * `serverUrl` may carry the server's `?token=`; it is never logged nor put in an error message (only its scheme,
 * host, port and path are).
 */
export interface AgentProfile {
  /** The device's `client_id` on its server; the constellation registers as `<taskName>@<deviceId>`. */
  readonly deviceId: string
  /**
   * `ws://` or `wss://` URL of the device-agent server, with its `?token=` if it needs one; or the URLs of the nodes
   * of one fleet (a cluster sharing its state, on which the device may be connected to any node), tried in turn:
   * each (re)connection tries them one after the other from the one after the server it lost or last failed on,
   * and the reconnection strategy's backoff separates full rounds. One URL also works behind a load balancer.
   */
  readonly serverUrl: string | readonly string[]
  /** Operating system, informative. */
  readonly os?: string | null | undefined
  /** What the device can do (for choosing a device); informative to the constellation. */
  readonly capabilities?: readonly string[] | undefined
  /** Anything else about the device. */
  readonly metadata?: Readonly<Record<string, unknown>> | undefined
  /**
   * Failed reconnection attempts in a row, after a disconnection, before the device is given up (state `failed`):
   * an integer >= 0 or `Infinity`. Default: the `maxRetries` of the server's reconnection strategy, which is
   * `Infinity` unless you configured it. Attempts that meet a server going away on purpose do not count.
   */
  readonly maxRetries?: number | undefined
}

/** What {@link ConstellationEndpoint.sendTaskToDevice} sends. */
export interface TaskRequest {
  /** What the device's agent should do (the TASK's `request`). */
  readonly request: string
  /** The TASK's `task_name`. Default `galaxy/<constellation taskName>/<taskId>`, as the reference orchestrator. */
  readonly taskName?: string | undefined
  /** The task's id: the session id is `<constellation taskName>@<taskId>` unless `sessionId` is given. Default: a fresh uuid. */
  readonly taskId?: string | undefined
  /**
   * The TASK's `session_id` (the design's `session_id`). Default `<constellation taskName>@<taskId>`. A session id
   * already queued or running on the device is refused with `AIP_ERR_CONSTELLATION_DUPLICATE_SESSION`.
   */
  readonly sessionId?: string | undefined
  /**
   * Deadline of the whole task, queue wait included. Default: the `taskTimeoutMs` option. When the server granted
   * `deadline`, the TASK carries the milliseconds left of it (`metadata.aip_timeout_ms`) and the server enforces it
   * too; when it granted `cancel`, a task that times out after it was sent is cancelled on the server.
   */
  readonly timeoutMs?: number | undefined
  /**
   * Aborting it rejects the task at once with `AIP_ERR_CONSTELLATION_TASK_ABORTED`; when the server granted
   * `cancel` and the TASK was sent, the server is asked to cancel the session (`task_cancel`).
   */
  readonly signal?: AbortSignal | undefined
  /** The TASK's `metadata`. Default `null`. */
  readonly metadata?: Record<string, unknown> | null | undefined
}

/**
 * The third argument of `sendTaskToDevice`: the task's `signal` and `timeoutMs`, given beside the request. A field
 * set here takes the place of the request's own.
 */
export interface SendTaskOptions {
  /** As {@link TaskRequest.timeoutMs}. */
  readonly timeoutMs?: number | undefined
  /** As {@link TaskRequest.signal}. */
  readonly signal?: AbortSignal | undefined
}

/** How a task ended, when it resolved: the server's TASK_END. */
export interface TaskResult {
  readonly taskId: string
  readonly sessionId: string
  readonly deviceId: string
  /** The TASK_END's status. */
  readonly status: 'completed' | 'failed'
  /** The TASK_END's `result` (the reference: one `{ request, result }` entry per step). */
  readonly result: unknown
  /** The TASK_END's `error`. */
  readonly error: string | null
  /** The TASK_END itself. */
  readonly message: DecodedServerMessage
}

/**
 * The fate of a task. Every task reaches exactly one: `completed` / `failed` (its TASK_END), or one of the
 * rejections `refused` (a correlated ERROR), `timed_out`, `cancelled` (aborted), `disconnected` (the device's
 * connection closed first, the TASK could not be written, or the device was given up or removed), or `stopped`
 * (the endpoint stopped).
 */
export type TaskOutcome = 'completed' | 'failed' | 'refused' | 'timed_out' | 'cancelled' | 'disconnected' | 'stopped'

/** Where a task is in its life. */
export type TaskPhase = 'queued' | 'sent' | 'acked'

/** The state of a device, as seen by the constellation. */
export type DeviceStatus = 'connecting' | 'connected' | 'busy' | 'idle' | 'disconnected' | 'failed'

/** A snapshot of a device. */
export interface DeviceSnapshot {
  readonly deviceId: string
  /** The client id the constellation registered with: `<taskName>@<deviceId>`. */
  readonly clientId: string
  /** The URL of the server in use (or being tried, or last tried), without its query. */
  readonly serverUrl: string
  /** Every server URL of the device's profile, without their queries, in the order given. */
  readonly serverUrls: readonly string[]
  readonly status: DeviceStatus
  readonly os: string | null
  readonly capabilities: readonly string[]
  readonly metadata: Readonly<Record<string, unknown>>
  /** Tasks waiting in the device's queue. */
  readonly queued: number
  /** Tasks sent and not ended. */
  readonly running: number
  /**
   * Tasks cancelled (aborted or timed out) after they were sent, whose device slot stays taken until the server
   * confirms the end (continuity `cancel`). `running + cancelling` never exceeds `maxConcurrentTasks`.
   */
  readonly cancelling: number
  /**
   * What the server granted at the device's last registration (`resume`, `cancel`, `deadline`, `presence`, its epoch
   * and resume window), or `null`: it granted nothing (a reference server), or `continuity` and `presence` are off.
   */
  readonly continuity: ContinuityGrant | null
  /** The connection dropped and the running tasks wait for a registration that resumes them (continuity `resume`). */
  readonly awaitingResume: boolean
  /** Successful connections so far (1 after the first, +1 per reconnection). */
  readonly connections: number
  /** When the last heartbeat answer arrived (ms since the epoch), or `null`. */
  readonly lastHeartbeatAt: number | null
  /**
   * The last `device_presence` frame about the device (option `presence`, granted by the server): online, away or
   * offline, its running tasks, its latest telemetry; `null` before the first one.
   */
  readonly presence: DevicePresenceUpdate | null
}

/** Why the slot of a cancelled task was released (event `slotReleased`). */
export type SlotReleaseCause =
  /** The TASK_END of its session arrived: the server ended it. */
  | 'task_end'
  /** The server refused the `task_cancel` with an ERROR: the session had already ended. */
  | 'refused'
  /** No confirmation within `cancelConfirmTimeoutMs`. */
  | 'timeout'
  /** The connection was lost and not resumed, or the device was given up or removed. */
  | 'disconnected'
  /** The endpoint stopped. */
  | 'stopped'

/** Context handed to the message processor with each message. */
export interface MessageContext {
  /** The device whose connection received the message. */
  readonly deviceId: string
}

/**
 * Sees every ServerMessage the constellation receives, before the endpoint handles it. Either a function or an
 * object with `processMessage` (the reference's `process_message`). Its errors are logged and never stop the
 * endpoint; an async processor is awaited, so keep it quick.
 */
export type MessageProcessor =
  | ((message: DecodedServerMessage, context: MessageContext) => unknown)
  | { processMessage: (message: DecodedServerMessage, context: MessageContext) => unknown }

/** Events of {@link ConstellationEndpoint}, beside those of every endpoint. */
export interface ConstellationEvents extends EndpointEvents {
  /** A device changed state (one transition function emits every change). */
  deviceState: {
    readonly deviceId: string
    readonly from: DeviceStatus
    readonly to: DeviceStatus
    /** Why, for `disconnected` and `failed`. */
    readonly error?: unknown
    /**
     * The server (URL without its query) the device is connected to, connecting to, or lost: for a device given a
     * list of servers, which one it registered on.
     */
    readonly serverUrl: string
    /**
     * For `failed` after a failure that retrying cannot heal: its classified reason (`credentials`,
     * `identity-conflict`, `invalid-registration`...; see `classifyFailure` of `@aip/endpoint`). Absent when the
     * retry budget ran out.
     */
    readonly failure?: FailureReason | undefined
  }
  /** A task reached its fate (exactly once per task). */
  taskEnd: {
    readonly taskId: string
    readonly sessionId: string
    readonly deviceId: string
    readonly outcome: TaskOutcome
    readonly error?: unknown
  }
  /** A task's TASK was written to the device's connection (`resent`: again, after a resumed reconnection). */
  taskSent: { readonly taskId: string, readonly sessionId: string, readonly deviceId: string, readonly resent?: boolean }
  /** A cancelled task's `task_cancel` was written (continuity `cancel`); its slot stays taken until released. */
  taskCancelSent: { readonly taskId: string, readonly sessionId: string, readonly deviceId: string, readonly reason: 'aborted' | 'timed out' }
  /** The device slot a cancelled task kept is free again. */
  slotReleased: { readonly taskId: string, readonly sessionId: string, readonly deviceId: string, readonly cause: SlotReleaseCause }
  /**
   * The device's connection dropped on a server that granted `resume`: its running tasks wait for a registration
   * within `windowMs` (+ `resumeMarginMs`) instead of failing.
   */
  deviceAway: { readonly deviceId: string, readonly tasks: number, readonly windowMs: number }
  /** The device registered again and the server resumed its sessions: its `tasks` running tasks were sent again. */
  deviceResumed: { readonly deviceId: string, readonly tasks: number, readonly epoch: number }
  /** The server acknowledged a task (HEARTBEAT `ok` with its session id). */
  taskAck: { readonly taskId: string, readonly sessionId: string, readonly deviceId: string }
  /**
   * The server says something happened to the device (option `presence`, granted): `snapshot` (its state right
   * after the registration), `connected`, `left`, `away`, `resumed`, `busy`, `idle` (its running tasks on the server,
   * all requesters together, went from 0 to 1 or back), `telemetry` (it pushed fresh telemetry: `systemInfo`, at
   * most about once per second). See PROTOCOL.md, "Presence extension".
   */
  devicePresence: DevicePresenceUpdate
  /** A message arrived that nothing was waiting for (an ERROR without ids, a late TASK_END...). */
  unmatched: { readonly deviceId: string, readonly message: DecodedServerMessage, readonly reason: string }
}
