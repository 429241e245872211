import { buildTaskAck, encodeServerMessage, type DecodedServerMessage } from '@aip/protocol'
import { granted } from '../command-writer.js'
import type { Identity } from '../connection.js'
import { serverError } from '../server-error.js'
import { admitTask, type Replier } from '../task-admission.js'
import { Texts } from '../texts.js'
import type { ClusterCancelMessage, ClusterFrameMessage, ClusterMessage, ClusterTaskMessage } from './link.js'
import type { ClusterRuntime } from './runtime.js'

/*
 * What arrives in the mailbox of a client this node holds: on a device's node, the `task`s and `cancel`s of
 * requesters on other nodes and the `dispatch`es and `dispatch_cancel`s of other nodes' `dispatch()`; on a
 * requester's node, the `frame`s the device's node made for it.
 */

/** Handles one mailbox entry, at once; true once handled (acknowledged), false to leave it in the mailbox. */
export function deliver (runtime: ClusterRuntime, clientId: string, message: ClusterMessage): boolean {
  switch (message.kind) {
    case 'task':
      deliverTask(runtime, clientId, message)
      return true
    case 'cancel':
      deliverCancel(runtime, message)
      return true
    case 'frame':
      return deliverFrame(runtime, clientId, message)
    case 'dispatch':
      runtime.dispatches.deliver(clientId, message)
      return true
    case 'dispatch_cancel':
      runtime.dispatches.deliverCancel(message)
      return true
  }
  runtime.core.logger.warn({ clientId }, 'cluster: unknown mailbox entry dropped')
  return true
}

/**
 * Answers a requester on another node: its ack sent to its node (not stored, when the link can), every other frame
 * through its mailbox, counting the acks sent; frames encoded once, here.
 */
class RemoteReplier implements Replier {
  readonly #runtime: ClusterRuntime
  readonly #task: ClusterTaskMessage
  /** Acks sent for a session without a record in `remote` (one running for a requester that was on this node). */
  #acks = 0

  constructor (runtime: ClusterRuntime, task: ClusterTaskMessage) {
    this.#runtime = runtime
    this.#task = task
  }

  send (message: DecodedServerMessage): boolean {
    const text = encodeServerMessage(message, { validate: false })
    const task = this.#task
    const remote = this.#runtime.remote.get(task.sessionId)
    const nodeId = remote?.nodeId ?? task.requesterNode
    const sessionId = message.session_id ?? task.sessionId
    // A HEARTBEAT with a session id is the TASK's ack (or its repetition for a TASK sent again).
    if (message.type === 'heartbeat' && message.session_id !== null) {
      const acks = remote === undefined ? ++this.#acks : ++remote.acks
      this.#runtime.sendAck(task.requesterId, nodeId, sessionId, message, text, acks)
      return true
    }
    this.#runtime.sendFrame(task.requesterId, nodeId, sessionId, message, text, remote?.acks ?? this.#acks)
    return true
  }
}

/**
 * A TASK from a requester on another node, for a device of this node: admitted with the same checks as a local
 * one (limits, session in use, drain, a re-sent TASK answered again), answered through the requester's mailbox.
 */
function deliverTask (runtime: ClusterRuntime, deviceId: string, task: ClusterTaskMessage): void {
  const { core } = runtime
  const replier = new RemoteReplier(runtime, task)
  if (runtime.isRemote(deviceId)) {
    // The device left this node between the lookup and the delivery.
    replier.send(serverError({ error: Texts.targetNotConnected(deviceId), sessionId: task.sessionId, responseId: task.task.request_id ?? undefined }))
    return
  }
  const identity: Identity = {
    clientId: task.requesterId,
    clientType: 'constellation',
    targetId: task.requesterTargetId,
    epoch: 0,
    grant: task.capabilities.length === 0
      ? null
      : { capabilities: task.capabilities as Array<'resume' | 'cancel' | 'deadline'>, epoch: 0, resumeWindowMs: 0, resumed: false }
  }
  const earlier = runtime.remote.get(task.sessionId)
  // A TASK sent again by a requester that resumed on another node: its frames go there now.
  if (earlier !== undefined && earlier.requesterId === task.requesterId) earlier.nodeId = task.requesterNode
  const known = earlier !== undefined || core.sessions.get(task.sessionId) !== undefined
  if (!known) runtime.remote.set(task.sessionId, { requesterId: task.requesterId, nodeId: task.requesterNode, resumable: task.capabilities.includes('resume'), acks: 0 })
  admitTask(core, replier, identity, { ...task.task, target_id: deviceId }, task.frameSize)
  if (known) return
  if (core.sessions.get(task.sessionId)?.requesterId === task.requesterId) runtime.watch.ensure()
  else runtime.remote.delete(task.sessionId)
}

/** Ends a session of this node at its requester's request (`task_cancel` on its node, or its leaving). */
function deliverCancel (runtime: ClusterRuntime, cancel: ClusterCancelMessage): void {
  const { core } = runtime
  const session = core.sessions.get(cancel.sessionId)
  if (session === undefined || session.ended || session.requesterId !== cancel.requesterId) return
  core.logger.info({ sessionId: cancel.sessionId, requesterId: cancel.requesterId, reason: cancel.reason }, 'cluster: session cancelled by its requester\'s node')
  // A requester gone for good reads nothing more: its TASK_END is not put in its mailbox.
  if (cancel.reason === 'requester_disconnected' || cancel.reason === 'requester_not_resumed') runtime.remote.delete(cancel.sessionId)
  core.cancelSession(session, cancel.reason)
}

/**
 * A frame for a requester of this node: written to its connection as made by the device's node. A late frame of a
 * forwarded session this node already ended (its node was found lost) is dropped. False while the requester
 * has no connection here (away): the frame waits in its mailbox for its return.
 */
function deliverFrame (runtime: ClusterRuntime, requesterId: string, frame: ClusterFrameMessage): boolean {
  const { core } = runtime
  if (frame.sessionId !== null && runtime.hasEnded(frame.sessionId)) {
    core.logger.debug({ sessionId: frame.sessionId, requesterId }, 'cluster: late frame of an ended session dropped')
    return true
  }
  const connection = core.clients.get(requesterId)
  if (connection === undefined) return false
  const forwarded = frame.sessionId === null ? undefined : runtime.forwarded.get(frame.sessionId) ?? runtime.forwarding.get(frame.sessionId)
  if (forwarded === undefined && !granted(connection.identity, 'resume')) {
    // Not a session this connection sent, and a client that cannot resume has none elsewhere: a frame of an earlier
    // connection of the id (it left for good), not for this one.
    core.logger.debug({ sessionId: frame.sessionId, requesterId }, 'cluster: frame of an earlier connection dropped')
    return true
  }
  const acks = frame.acks ?? 0
  // The frame's object is not read on the way (a link may parse it only when it is): its type, and its text.
  const type = frame.type ?? frame.message.type
  if (forwarded !== undefined && type !== 'heartbeat' && acks > forwarded.acks) {
    // An ack sent without being stored was lost on the way: written first, as one node would have.
    if (!connection.send(buildTaskAck({ sessionId: forwarded.sessionId }))) return false
    forwarded.acked = true
    forwarded.acks = acks
  }
  if (!connection.sendRelayed(frame.text, () => frame.message)) return false
  if (forwarded !== undefined) {
    if (type === 'heartbeat') {
      forwarded.acked = true
      if (acks > forwarded.acks) forwarded.acks = acks
    }
    // The end of the session, or the refusal of its TASK (never acknowledged): nothing more comes for it.
    if (frame.end || (type === 'error' && !forwarded.acked)) {
      if (runtime.forwarded.get(forwarded.sessionId) === forwarded) runtime.forwarded.delete(forwarded.sessionId)
      if (runtime.forwarding.get(forwarded.sessionId) === forwarded) runtime.forwarding.delete(forwarded.sessionId)
    }
  }
  return true
}

/**
 * A TASK's ack a node sent without storing it (`notifyNode`): written at once to its requester when it is connected
 * here and the session is one it forwarded from here that has not had this ack yet (one written before the frame
 * that stood in for it is not written twice); dropped otherwise, never kept.
 */
export function deliverNotice (runtime: ClusterRuntime, requesterId: string, frame: ClusterFrameMessage): void {
  const { core } = runtime
  const sessionId = frame.sessionId
  const forwarded = sessionId === null ? undefined : runtime.forwarded.get(sessionId) ?? runtime.forwarding.get(sessionId)
  const connection = core.clients.get(requesterId)
  const acks = frame.acks ?? 0
  if (connection === undefined || forwarded === undefined || forwarded.requesterId !== requesterId || acks <= forwarded.acks) {
    core.logger.debug({ sessionId, requesterId }, 'cluster: ack dropped (its requester is not here, or it was written already)')
    return
  }
  if (!connection.sendRelayed(frame.text, () => frame.message)) {
    core.logger.debug({ sessionId, requesterId }, 'cluster: ack not written (the connection is closing)')
    return
  }
  if ((frame.type ?? frame.message.type) === 'heartbeat') forwarded.acked = true
  forwarded.acks = acks
}
