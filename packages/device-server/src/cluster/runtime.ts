import type { RegistrationClaim } from '@aip/endpoint'
import type { DecodedClientMessage, DecodedServerMessage } from '@aip/protocol'
import type { ClientConnection, Identity } from '../connection.js'
import type { ServerCore } from '../core.js'
import { ClusterUnavailableError } from '../errors.js'
import type { ClientRecord } from '../registry.js'
import type { TaskRecord } from '../results.js'
import type { Session } from '../session.js'
import { deliver, deliverNotice } from './deliver.js'
import { cancelForwarded, forwardTask, type ForwardedSession } from './forward.js'
import type {
  ClusterClient, ClusterClientRecord, ClusterLink, ClusterState, NodeMessage, PresenceEventMessage, PresenceInterestMessage
} from './link.js'
import { dropMovedClient } from './moved.js'
import { NodeWatch } from './node-watch.js'
import { RemoteDispatches } from './remote-dispatch.js'
import { admitRegistration, answerProbe, reconcile } from './registration.js'
import { answerSessions } from './sessions.js'
import type { SessionInfo } from '../types.js'

/** What the cluster needs of the server's presence hub. */
export interface ClusterPresence {
  /** A presence message of another node. */
  nodeMessage: (message: PresenceInterestMessage | PresenceEventMessage) => void
}

/** A session that runs here for a requester connected to another node: its frames go to its mailbox. */
export interface RemoteRequester {
  readonly requesterId: string
  /** The node the requester is expected on (its doorbell is rung). Updated when it moves. */
  nodeId: string
  /** The requester was granted `resume`: after a loss of its node it may come back elsewhere. */
  readonly resumable: boolean
  /** The acks of the session sent so far: every later frame says so (its `acks`), in case one was lost. */
  acks: number
}

/** Forwarded sessions ended here that are remembered, so that late frames for them are dropped. */
const MAX_ENDED_REMEMBERED = 4096

/**
 * A server's side of the cluster: what it forwarded, what it runs for requesters elsewhere, the probes it waits
 * for, and the hooks the server's files call. Internal: `DeviceServerEndpoint` makes one when its `cluster` option
 * is set, and every hook is skipped (no work at all) when it is not.
 */
export class ClusterRuntime {
  readonly link: ClusterLink
  readonly core: ServerCore
  /** Sessions this node's requesters sent to devices on other nodes, by session id. */
  readonly forwarded = new Map<string, ForwardedSession>()
  /**
   * Sessions being forwarded (their TASK on its way to the device's node, the answer not back yet), by session id:
   * a frame of theirs arriving first is delivered and noted there.
   */
  readonly forwarding = new Map<string, ForwardedSession>()
  /** Sessions running here whose requester is on another node, by session id. */
  readonly remote = new Map<string, RemoteRequester>()
  /** Client ids registered here while the store was unavailable: their leases are claimed once it is back. */
  readonly pendingClaims = new Set<string>()
  /** Probes of a client's connection on another node, waiting for their answer, by probe id. */
  readonly probes = new Map<string, (alive: boolean) => void>()
  /** Session listings asked of other nodes, waiting for their answer, by request id. */
  readonly sessionRequests = new Map<string, (sessions: readonly SessionInfo[]) => void>()
  readonly watch: NodeWatch
  /** `dispatch()` across nodes: this node's dispatches to devices elsewhere, and other nodes' dispatches run here. */
  readonly dispatches: RemoteDispatches
  /** The server's presence hub, when presence is not `off`: it exchanges presence events with other nodes. */
  presence: ClusterPresence | null = null
  readonly #ended = new Set<string>()
  #started: Promise<void> | null = null

  constructor (core: ServerCore, link: ClusterLink) {
    this.core = core
    this.link = link
    this.watch = new NodeWatch(this)
    this.dispatches = new RemoteDispatches(this)
  }

  /** Starts the link (once): the server's first connection, or its `start()`. */
  start (): void {
    if (this.#started !== null) return
    this.#started = this.link.start({
      deliver: (clientId, message) => deliver(this, clientId, message),
      notice: (clientId, message) => { deliverNotice(this, clientId, message) },
      nodeMessage: (message) => { this.#onNodeMessage(message) },
      clientLost: (clientId, reason) => {
        this.core.logger.warn({ clientId, reason }, 'cluster: the client lease was lost; ending its local state')
        dropMovedClient(this, clientId, null)
      },
      stateChange: (state) => { this.#onState(state) }
    }).catch((err: unknown) => { this.core.logger.error({ err }, 'cluster: the link failed to start') })
  }

  /** Stops the node watch and the link (after the server ended its sessions). */
  async stop (): Promise<void> {
    this.watch.stop()
    for (const resolve of this.probes.values()) resolve(false)
    this.probes.clear()
    for (const resolve of [...this.sessionRequests.values()]) resolve([])
    await this.#started
    await this.dispatches.stop()
    await this.link.stop().catch((err: unknown) => { this.core.logger.error({ err }, 'cluster: the link failed to stop') })
  }

  /** Whether the store can be reached now. */
  get ready (): boolean {
    return this.link.state === 'ready'
  }

  /** Remembers that a forwarded session ended here (bounded), so that frames arriving later are dropped. */
  markEnded (sessionId: string): void {
    this.#ended.add(sessionId)
    if (this.#ended.size > MAX_ENDED_REMEMBERED) {
      const oldest = this.#ended.values().next().value as string
      this.#ended.delete(oldest)
    }
  }

  /** Did a forwarded session end here? */
  hasEnded (sessionId: string): boolean {
    return this.#ended.has(sessionId)
  }

  // ----- Hooks of the server's files -----

  /**
   * Registration (after the local rules): takes the client's lease cluster-wide. False when the id is held by a
   * live connection on another node (the REGISTER is refused as a duplicate).
   */
  async admitRegistration (connection: ClientConnection, claim: RegistrationClaim, record: ClientRecord): Promise<boolean> {
    return await admitRegistration(this, connection, claim, record)
  }

  /** A client registered (or resumed) here: its mailbox is followed. */
  registered (identity: Identity): void {
    this.link.follow(identity.clientId)
  }

  /** A client went away (resume window): a requester's frames wait in its mailbox until it resumes. */
  wentAway (identity: Identity): void {
    if (identity.clientType === 'constellation') this.link.unfollow(identity.clientId)
  }

  /**
   * A client left for good: its lease is released (unless the id registered here again meanwhile), the sessions it
   * sent to other nodes are cancelled there.
   */
  left (identity: Identity, expired: boolean): void {
    const { clientId } = identity
    this.pendingClaims.delete(clientId)
    if (!this.core.clients.has(clientId)) {
      // A device's mailbox is read a while longer: a TASK sent by a node that looked the device up just before it
      // left is answered (`not connected`) instead of waiting for nobody.
      if (identity.clientType === 'device') this.#unfollowLater(clientId)
      else this.link.unfollow(clientId)
      this.link.release(clientId).catch((err: unknown) => { this.core.logger.warn({ err, clientId }, 'cluster: lease release failed (it expires on its own)') })
    }
    for (const forwarded of [...this.forwarded.values()]) {
      if (forwarded.requesterId !== clientId) continue
      this.forwarded.delete(forwarded.sessionId)
      this.link.send(forwarded.deviceId, {
        kind: 'cancel',
        sessionId: forwarded.sessionId,
        requesterId: clientId,
        reason: expired ? 'requester_not_resumed' : 'requester_disconnected'
      }, forwarded.nodeId).catch((err: unknown) => { this.core.logger.warn({ err, sessionId: forwarded.sessionId }, 'cluster: cancel of a forwarded session not sent') })
    }
  }

  #unfollowLater (clientId: string): void {
    const timer = setTimeout(() => {
      if (!this.core.clients.has(clientId) && !this.core.away.has(clientId)) this.link.unfollow(clientId)
    }, this.link.nodeLeaseMs)
    timer.unref()
  }

  /** Is `targetId` neither connected here nor away here (a TASK for it goes to the cluster)? */
  isRemote (targetId: string | null): boolean {
    return targetId !== null && !this.core.clients.has(targetId) && !this.core.away.has(targetId)
  }

  /** A constellation's TASK for a device that is not here: forwarded to the device's node, or refused. */
  async forward (connection: ClientConnection, identity: Identity, message: DecodedClientMessage, frameSize: number): Promise<void> {
    await forwardTask(this, connection, identity, message, frameSize)
  }

  /** `task_cancel` of a session forwarded from here: sent to the device's node. False when it is not one. */
  cancelForwarded (connection: ClientConnection, identity: Identity, message: DecodedClientMessage): boolean {
    return cancelForwarded(this, connection, identity, message)
  }

  /**
   * `cancelSession()` of a session this node forwarded, or dispatched, to a device on another node: sent to the
   * device's node (its TASK_END follows). False when the session was neither.
   */
  cancelForwardedSession (sessionId: string, reason = 'cancelled'): boolean {
    if (this.dispatches.cancel(sessionId, reason)) return true
    const forwarded = this.forwarded.get(sessionId)
    if (forwarded === undefined) return false
    this.link.send(forwarded.deviceId, { kind: 'cancel', sessionId, requesterId: forwarded.requesterId, reason: 'cancelled' }, forwarded.nodeId)
      .catch((err: unknown) => { this.core.logger.warn({ err, sessionId }, 'cluster: cancel not sent') })
    return true
  }

  /** A client id on another node, read from its lease (`null` when none or the store is unavailable). */
  async locate (clientId: string): Promise<ClusterClient | null> {
    if (!this.ready) return null
    try {
      const holder = await this.link.locate(clientId)
      return holder === null || holder.nodeId === this.link.nodeId ? null : holder
    } catch (err) {
      this.core.logger.warn({ err, clientId }, 'cluster: lookup failed')
      return null
    }
  }

  /** A device pushed telemetry: its lease data follows, so that other nodes answer device info with it. */
  telemetry (record: ClientRecord): void {
    if (this.pendingClaims.has(record.clientId)) return
    this.link.update(clusterRecord(record)).catch((err: unknown) => { this.core.logger.debug({ err, clientId: record.clientId }, 'cluster: telemetry not stored') })
  }

  /**
   * A session ended here: its record is stored cluster-wide, and its TASK_END goes to its requester's mailbox when
   * the requester is on another node.
   */
  taskEnded (session: Session, record: TaskRecord, message: DecodedServerMessage, text: string, delivered: boolean): void {
    this.link.putResult(record).catch((err: unknown) => { this.core.logger.warn({ err, sessionId: record.sessionId }, 'cluster: result not stored') })
    const remote = this.remote.get(session.id)
    if (remote === undefined) return
    this.remote.delete(session.id)
    if (delivered) return
    this.sendFrame(remote.requesterId, remote.nodeId, session.id, message, text, remote.acks)
  }

  /**
   * Appends a frame for a requester on another node to its mailbox (errors are logged); `acks`: the session's acks
   * sent by then.
   */
  sendFrame (requesterId: string, nodeId: string, sessionId: string | null, message: DecodedServerMessage, text: string, acks: number): void {
    this.link.send(requesterId, { kind: 'frame', sessionId, end: message.type === 'task_end', acks, type: message.type, message, text }, nodeId)
      .catch((err: unknown) => { this.core.logger.warn({ err, sessionId, requesterId }, 'cluster: frame for a requester on another node not sent') })
  }

  /**
   * Sends a TASK's ack (the session's `acks`th) to a requester on another node: to that node only, not stored, when
   * the link can (a lost ack is written there before the session's next frame, which counts it); else in the
   * requester's mailbox. Errors are logged.
   */
  sendAck (requesterId: string, nodeId: string, sessionId: string, message: DecodedServerMessage, text: string, acks: number): void {
    if (this.link.notifyNode === undefined) {
      this.sendFrame(requesterId, nodeId, sessionId, message, text, acks)
      return
    }
    this.link.notifyNode(nodeId, requesterId, { kind: 'frame', sessionId, end: false, acks, type: message.type, message, text })
      .catch((err: unknown) => { this.core.logger.warn({ err, sessionId, requesterId }, 'cluster: ack for a requester on another node not sent (its next frame carries it)') })
  }

  #onNodeMessage (message: NodeMessage): void {
    switch (message.kind) {
      case 'probe':
        answerProbe(this, message).catch((err: unknown) => { this.core.logger.warn({ err }, 'cluster: probe not answered') })
        return
      case 'probe_answer':
        this.probes.get(message.probeId)?.(message.alive)
        this.probes.delete(message.probeId)
        return
      case 'fenced':
        dropMovedClient(this, message.clientId, message.by)
        return
      case 'sessions_request':
        answerSessions(this, message).catch((err: unknown) => { this.core.logger.warn({ err }, 'cluster: session listing not answered') })
        return
      case 'sessions_answer':
        this.sessionRequests.get(message.requestId)?.(message.sessions)
        return
      case 'dispatch_notice':
        this.dispatches.notice(message)
        return
      case 'presence_interest':
      case 'presence_event':
        this.presence?.nodeMessage(message)
    }
  }

  #onState (state: ClusterState): void {
    this.core.logger.info({ state, nodeId: this.link.nodeId }, 'cluster link state')
    if (state === 'ready') {
      reconcile(this).catch((err: unknown) => { this.core.logger.warn({ err }, 'cluster: reconciliation failed; retried when the link is ready again') })
    }
  }

  /** Wraps a store failure for a caller of the endpoint. */
  unavailable (operation: string, err: unknown): ClusterUnavailableError {
    return err instanceof ClusterUnavailableError ? err : new ClusterUnavailableError(operation, err)
  }
}

/** The cluster's record of a client (the data of its lease). */
export function clusterRecord (record: ClientRecord): ClusterClientRecord {
  return {
    clientId: record.clientId,
    clientType: record.clientType,
    targetId: record.targetId,
    platform: record.platform,
    systemInfo: record.systemInfo as Record<string, unknown> | null,
    registeredAt: record.registeredAt
  }
}
