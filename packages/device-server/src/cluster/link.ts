import type { ClientType, DecodedClientMessage, DecodedServerMessage } from '@aip/protocol'
import type { TaskRecord } from '../results.js'
import type { SessionInfo } from '../types.js'

/*
 * The contract between a `DeviceServerEndpoint` and the cluster store that lets several servers act as one fleet.
 * The device server only speaks to this interface; `@aip/redis` implements it on Redis (`RedisCluster`), and
 * `InMemoryClusterHub` implements it in one process (several endpoints in a test or a demo).
 */

/**
 * The state of a node's link to the cluster store:
 * - `connecting`: started, not ready yet;
 * - `ready`: cross-node work goes through;
 * - `reconnecting` / `down`: the store cannot be reached; local work goes on, cross-node work is refused with
 *   `AIP_ERR_CLUSTER_UNAVAILABLE`, and everything resumes on its own once `ready` again;
 * - `stopped`: `stop()` was called.
 */
export type ClusterState = 'connecting' | 'ready' | 'reconnecting' | 'down' | 'stopped'

/** What keeps a node's link from `ready`, for a health endpoint (see {@link ClusterLink.problem}). */
export interface ClusterProblem {
  /** A code: the store's error code (`ECONNREFUSED`, `AIP_ERR_REDIS_CLUSTER_FORMAT`...), or `null` when it has none. */
  readonly code: string | null
  readonly message: string
}

/** What the cluster stores about a registered client (the data of its client lease). */
export interface ClusterClientRecord {
  readonly clientId: string
  readonly clientType: ClientType
  /** The device a constellation is scoped to, or `null`. */
  readonly targetId: string | null
  /** `metadata.platform` of a device's REGISTER, or `null`. */
  readonly platform: string | null
  /** A device's telemetry: its REGISTER's `metadata.system_info`, then its latest push. */
  readonly systemInfo: Record<string, unknown> | null
  /** Milliseconds since the epoch (the registering node's clock). */
  readonly registeredAt: number
}

/** A client as the cluster sees it: its record, the node holding its connection and its lease epoch. */
export interface ClusterClient extends ClusterClientRecord {
  /** The node that holds the client's lease (its connection, or its resume window). */
  readonly nodeId: string
  /** The epoch of the client's lease: it grows with every registration of the id, cluster-wide. */
  readonly epoch: number
}

/**
 * The answer to {@link ClusterLink.sendToHolder}: sent (to the node holding the client), or not, with the holder
 * found (`null` when no live lease names the client id; this node, or a client of another type, otherwise).
 */
export type HolderSendOutcome =
  | { readonly sent: true, readonly nodeId: string }
  | { readonly sent: false, readonly holder: ClusterClient | null }

/** How {@link ClusterLink.claim} takes a client id: only when free, or over any holder (which is fenced). */
export type ClaimMode = 'if-absent' | 'takeover'

/** The answer to {@link ClusterLink.claim}. */
export type ClaimOutcome =
  | {
    readonly claimed: true
    /** The node that held the id before a takeover (fenced from now on), or `null`. */
    readonly replacedNode: string | null
  }
  | {
    readonly claimed: false
    /** Who holds the id (`if-absent` only). */
    readonly holder: ClusterClient
  }

/**
 * A message in a client's mailbox. Any node appends; the node holding the client's lease handles it.
 * - `task`: a TASK for a device (in the device's mailbox) from a requester connected to another node;
 * - `cancel`: ends a forwarded session (in the device's mailbox): `task_cancel`, or the requester left;
 * - `frame`: a server frame for a requester (in the requester's mailbox), encoded once by the node that made it
 *   (an ERROR refusing its TASK, its TASK_END), to be written to its connection verbatim. A TASK's ack goes with
 *   {@link ClusterLink.notifyNode} instead when the link has it (not stored), and in the mailbox otherwise.
 */
export type ClusterMessage = ClusterTaskMessage | ClusterCancelMessage | ClusterFrameMessage | ClusterDispatchMessage | ClusterDispatchCancelMessage

/** A TASK forwarded to the node of its device. */
export interface ClusterTaskMessage {
  readonly kind: 'task'
  /** The session id (chosen by the requester's node when the TASK carried none). */
  readonly sessionId: string
  readonly requesterId: string
  /** The node the requester was connected to when it sent the TASK. */
  readonly requesterNode: string
  /** The requester's registration scope (`target_id`), or `null`. */
  readonly requesterTargetId: string | null
  /** The continuity capabilities granted to the requester (`resume`, `cancel`, `deadline`). */
  readonly capabilities: readonly string[]
  /** The TASK as decoded by the requester's node, `session_id` filled in. */
  readonly task: DecodedClientMessage
  /** Bytes of the TASK frame (charged to the requester's share on the device's node). */
  readonly frameSize: number
}

/** Ends a forwarded session on the device's node. */
export interface ClusterCancelMessage {
  readonly kind: 'cancel'
  readonly sessionId: string
  /** Only the session's requester may cancel it. */
  readonly requesterId: string
  /**
   * A `task_cancel`, the requester left (for good, or its resume window expired), or `cancelSession()` on the
   * requester's node (`cancelled`).
   */
  readonly reason: 'cancelled by the requester' | 'requester_disconnected' | 'requester_not_resumed' | 'cancelled'
}

/** A server frame for a requester connected to another node. */
export interface ClusterFrameMessage {
  readonly kind: 'frame'
  /** The session the frame belongs to, or `null`. */
  readonly sessionId: string | null
  /** True for the TASK_END that ends the session. */
  readonly end: boolean
  /**
   * The acks of the session (its TASK's, and one per TASK sent again) the node that made the frame had sent by then,
   * the frame included: the requester's node writes an ack first when it wrote fewer (an ack sent with
   * {@link ClusterLink.notifyNode} may be lost), and drops an ack it wrote already. Absent: 0.
   */
  readonly acks?: number
  /**
   * The frame's message type, as the node that made it built it; absent from a link (or an entry of an earlier
   * version) that does not carry it: then read `message.type`.
   */
  readonly type?: DecodedServerMessage['type']
  /**
   * The frame, as built by the node that made it. A link that stores frames as their text may parse it only when
   * this is read (the Redis link does): the requester's node writes `text` without reading it unless something on the
   * connection reads the message (middleware, a `sent` listener).
   */
  readonly message: DecodedServerMessage
  /** The frame encoded by that node: written verbatim. */
  readonly text: string
}

/**
 * A server TASK for a device, sent by `dispatch()` on another node (in the device's mailbox): the device's node
 * dispatches it as its own and reports to `origin` ({@link DispatchNoticeMessage}).
 */
export interface ClusterDispatchMessage {
  readonly kind: 'dispatch'
  /** The session id chosen by the dispatching node. */
  readonly sessionId: string
  /** The sanitised task name. */
  readonly taskName: string
  readonly request: string
  /** The dispatching node, which gets the notices. */
  readonly origin: string
  /** The dispatch's deadline, in milliseconds from its start on the dispatching node. */
  readonly timeoutMs: number
}

/**
 * Withdraws a dispatch of another node (in the device's mailbox): its deadline passed, its signal aborted, it was
 * cancelled, or the dispatching node stopped. A running session ends with `Task was cancelled: <reason>`.
 */
export interface ClusterDispatchCancelMessage {
  readonly kind: 'dispatch_cancel'
  readonly sessionId: string
  readonly reason: string
}

/** A running session as the cluster lists it: where it runs, and what `listSessions()` says of it there. */
export interface ClusterSessionInfo extends SessionInfo {
  /** The node running the session (its agent, next to its device). */
  readonly nodeId: string
}

/** A message between two nodes (in a node's own mailbox). */
export type NodeMessage =
  | ProbeMessage | ProbeAnswerMessage | FencedNoticeMessage | SessionsRequestMessage | SessionsAnswerMessage | DispatchNoticeMessage
  | PresenceInterestMessage | PresenceEventMessage

/**
 * A node with constellations granted `presence` asks every other node for the presence events of its devices, for
 * `ttlMs` (it asks again before that ends, while it has such constellations).
 */
export interface PresenceInterestMessage {
  readonly kind: 'presence_interest'
  /** The node asking, which gets the events in its mailbox. */
  readonly from: string
  readonly ttlMs: number
}

/** A `device_presence` frame about a device of the sending node, for the constellations of the receiving node. */
export interface PresenceEventMessage {
  readonly kind: 'presence_event'
  readonly from: string
  readonly deviceId: string
  /** The frame, as built by the device's node. */
  readonly message: DecodedServerMessage
  /** The frame encoded by that node: written verbatim. */
  readonly text: string
}

/** Why the device's node refused or ended a dispatch without a record: the code of the error it met there. */
export interface DispatchErrorInfo {
  /** The error's code, for example `AIP_ERR_SERVER_CLIENT_NOT_CONNECTED`. */
  readonly code: string
  /** The cancel reason of `AIP_ERR_SERVER_SESSION_CANCELLED`, else `null`. */
  readonly reason: string | null
  /** The limit of `AIP_ERR_SERVER_TOO_MANY_DISPATCHES` / `AIP_ERR_SERVER_REQUEST_TOO_LARGE`, else `null`. */
  readonly limit: number | null
}

/**
 * What the device's node tells the dispatching node of a {@link ClusterDispatchMessage}: `accepted` (the server
 * TASK is on its way, or held for a device away), `started` (the device took it up), `ended` (its record, or the
 * error that refused or ended it).
 */
export interface DispatchNoticeMessage {
  readonly kind: 'dispatch_notice'
  readonly sessionId: string
  /** The node running the dispatch. */
  readonly from: string
  readonly phase: 'accepted' | 'started' | 'ended'
  /** `ended` with a record: the task's record. */
  readonly record: TaskRecord | null
  /** `ended` without a record: why. */
  readonly error: DispatchErrorInfo | null
}

/** Asks a node for the sessions it runs (a cluster-wide listing). */
export interface SessionsRequestMessage {
  readonly kind: 'sessions_request'
  readonly requestId: string
  /** The node asking, which gets the answer in its mailbox. */
  readonly from: string
}

/** The answer to a {@link SessionsRequestMessage}. */
export interface SessionsAnswerMessage {
  readonly kind: 'sessions_answer'
  readonly requestId: string
  readonly from: string
  readonly sessions: readonly SessionInfo[]
}

/** Asks the holder of a client id whether its connection is alive (a registration of the id on another node). */
export interface ProbeMessage {
  readonly kind: 'probe'
  /** Correlates the answer. */
  readonly probeId: string
  readonly clientId: string
  /** The node asking, which gets the answer in its mailbox. */
  readonly from: string
}

/** The answer to a {@link ProbeMessage}. */
export interface ProbeAnswerMessage {
  readonly kind: 'probe_answer'
  readonly probeId: string
  readonly clientId: string
  /** True when the holder's connection answered its ping: the new registration is refused as a duplicate. */
  readonly alive: boolean
}

/** Tells the former holder of a client id that another node took it over (its lease is fenced already). */
export interface FencedNoticeMessage {
  readonly kind: 'fenced'
  readonly clientId: string
  /** The node that took the id. */
  readonly by: string
}

/** Why a node lost a client's lease: another node took it over (`fenced`), or it ran out (`expired`). */
export type ClientLossReason = 'fenced' | 'expired'

/** What the device server gives the link when it starts it: where deliveries and notices go. */
export interface ClusterHandlers {
  /**
   * An entry of the mailbox of a followed client, in mailbox order (the next waits for this one). Resolve `true`
   * once it is handled: the link acknowledges it (it leaves the mailbox). Resolve `false` to leave it in the
   * mailbox: the link stops following that client until {@link ClusterLink.follow} is called again, which hands
   * it over again. Handlers are idempotent by session id: an entry handled but not yet acknowledged when a node
   * dies is handed over again to the next holder.
   */
  readonly deliver: (clientId: string, message: ClusterMessage) => Promise<boolean> | boolean
  /**
   * A frame for a client another node sent with {@link ClusterLink.notifyNode} (a TASK's ack): handled at once, never
   * stored; dropped when the client is not connected here. Absent: such frames are dropped.
   */
  readonly notice?: (clientId: string, message: ClusterFrameMessage) => void
  /** A message addressed to this node. */
  readonly nodeMessage: (message: NodeMessage) => void
  /** This node no longer holds a client's lease (another node took it over, or it ran out and was taken). */
  readonly clientLost: (clientId: string, reason: ClientLossReason) => void
  /** The link's state changed (`ready` again after `down`: reconcile). */
  readonly stateChange: (state: ClusterState) => void
}

/**
 * A node's link to the cluster store. `DeviceServerEndpoint` takes one as its `cluster` option, starts it with
 * its handlers on start (or its first connection) and stops it on `stop()`. Every asynchronous method rejects with
 * `ClusterUnavailableError` (`AIP_ERR_CLUSTER_UNAVAILABLE`) when the store cannot be reached, and never queues
 * work in memory while it is away.
 *
 * The model: every node holds a node lease (lost when it dies); every registered client id holds a client lease
 * (renewed by the link in one sweep per node) whose data is its {@link ClusterClientRecord}; every client id has a
 * mailbox, followed by the node that holds its lease, into which any node appends {@link ClusterMessage}s.
 */
export interface ClusterLink {
  /** This node's id, unique in the cluster. */
  readonly nodeId: string
  /**
   * The node lease's length, in milliseconds: a node that stops renewing is lost within it. Nodes check the
   * nodes they share sessions with every half of it.
   */
  readonly nodeLeaseMs: number
  /** The link's state now. */
  readonly state: ClusterState
  /**
   * Why the link is not `ready` (the store's last error, or what keeps this node out of the cluster), or `null`:
   * shown by a health endpoint. Optional.
   */
  readonly problem?: ClusterProblem | null
  /** Starts the link: the node lease, the mailbox reader, the lease sweep. Resolves once started (not once ready). */
  start: (handlers: ClusterHandlers) => Promise<void>
  /** Stops renewing, releases the node lease and every client lease this node holds, closes the connections. */
  stop: () => Promise<void>
  /**
   * Takes the lease of a client registering on this node, with its record as data, and keeps renewing it until
   * {@link release} or its loss (`clientLost`).
   */
  claim: (record: ClusterClientRecord, mode: ClaimMode) => Promise<ClaimOutcome>
  /** Stops renewing a client's lease and removes it (a normal unregister). Nothing happens when not held. */
  release: (clientId: string) => Promise<void>
  /** Replaces the data of a lease this node holds (a device's telemetry push). */
  update: (record: ClusterClientRecord) => Promise<void>
  /** The holder of a client id cluster-wide, or `null` when no live lease names it. */
  locate: (clientId: string) => Promise<ClusterClient | null>
  /** Every client with a live lease, cluster-wide, in client id order. */
  listClients: () => Promise<ClusterClient[]>
  /** Starts handing the mailbox of `clientId` to `deliver`, from its oldest unacknowledged entry. */
  follow: (clientId: string) => void
  /** Stops following the mailbox of `clientId` (entries not handed over stay in it). */
  unfollow: (clientId: string) => void
  /**
   * Appends `message` to the mailbox of `clientId` and wakes `wakeNode` (the node expected to hold the client;
   * any other holder reads it at its next poll).
   */
  send: (clientId: string, message: ClusterMessage, wakeNode: string) => Promise<void>
  /**
   * Looks up the holder of `clientId` and, when it is another node and the client is of type `clientType`, appends
   * `message` to the client's mailbox and wakes that node, in one step with the lookup (what {@link locate} then
   * {@link send} do in two). Optional: without it, the server calls `locate`, then `send`.
   */
  sendToHolder?: (clientId: string, message: ClusterMessage, clientType: ClientType) => Promise<HolderSendOutcome>
  /**
   * Hands `message`, a frame for client `clientId`, to node `nodeId` without storing it (its `notice` handler), after
   * whatever this node sent before it: best effort, lost when that node is not listening then. Used for a TASK's ack,
   * which the session's later frames stand in for (their `acks`). Optional: without it, the server appends the ack
   * to the client's mailbox ({@link send}).
   */
  notifyNode?: (nodeId: string, clientId: string, message: ClusterFrameMessage) => Promise<void>
  /** Appends `message` to the mailbox of node `nodeId` and wakes it. */
  sendToNode: (nodeId: string, message: NodeMessage) => Promise<void>
  /** Whether `nodeId` holds a live node lease. */
  isNodeAlive: (nodeId: string) => Promise<boolean>
  /** The nodes holding a live node lease (this one included), in id order. */
  listNodes: () => Promise<string[]>
  /** Stores a finished task's record, readable from every node. */
  putResult: (record: TaskRecord) => Promise<void>
  /** A finished task's record by session id, from any node, while it is kept. */
  getResult: (sessionId: string) => Promise<TaskRecord | undefined>
  /** The latest finished task with this (sanitised) name, from any node, while it is kept. */
  getResultByTaskName: (taskName: string) => Promise<TaskRecord | undefined>
}
