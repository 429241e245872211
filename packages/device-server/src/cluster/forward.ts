import { buildTaskEnd, newId, sanitizeTaskName, type DecodedClientMessage } from '@aip/protocol'
import { granted } from '../command-writer.js'
import type { TaskRecord } from '../results.js'
import type { ClientConnection, Identity } from '../connection.js'
import { requestTooLarge, serverError } from '../server-error.js'
import { MAX_ID_CHARS, Texts, clip } from '../texts.js'
import type { ClusterLink, ClusterMessage, ClusterTaskMessage, HolderSendOutcome } from './link.js'
import type { ClusterRuntime } from './runtime.js'

/*
 * The requester's side of a cross-node task. A constellation's TASK for a device that is not on this node is
 * checked here as far as this node can (scope, request, ids, drain), then the device is looked up in the cluster:
 * unknown → the usual `target not connected`; on node A → a forwarded session is recorded and the TASK goes to the
 * device's mailbox. Node A admits it with its own checks and answers through the requester's mailbox (ack, ERROR,
 * TASK_END), which this node writes to the requester's connection.
 */

/** A session sent from this node to a device on another node, until its TASK_END. */
export interface ForwardedSession {
  readonly sessionId: string
  readonly taskName: string
  readonly request: string
  readonly requesterId: string
  readonly deviceId: string
  /** The node of the device (where the agent runs); `''` while the TASK is on its way. */
  readonly nodeId: string
  /** Milliseconds since the epoch (this node's clock). */
  readonly startedAt: number
  /** The device's node acknowledged the TASK (the session runs): an ERROR from now on does not end it. */
  acked: boolean
  /** The acks written to the requester (its TASK's, and one per TASK sent again): see `ClusterFrameMessage.acks`. */
  acks: number
}

/** Forwards a constellation's TASK for a device on another node, or answers it with an ERROR carrying its ids. */
export async function forwardTask (runtime: ClusterRuntime, connection: ClientConnection, identity: Identity, message: DecodedClientMessage, frameSize: number): Promise<void> {
  const { core, link } = runtime
  const fail = (error: string, sessionId = message.session_id): void => {
    connection.send(serverError({ error, sessionId, responseId: message.request_id ?? undefined }))
  }
  const targetId = message.target_id as string
  if (identity.targetId !== null && identity.targetId !== targetId) { fail(Texts.taskNotAuthorized); return }
  const request = message.request
  if (request === null || request === '') { fail(Texts.taskNeedsRequest); return }
  if (requestTooLarge(request, core.options.maxRequestBytes)) { fail(Texts.requestTooLong(core.options.maxRequestBytes)); return }
  if ((message.session_id?.length ?? 0) > MAX_ID_CHARS || (message.task_name?.length ?? 0) > MAX_ID_CHARS) {
    fail(Texts.idTooLong((message.session_id?.length ?? 0) > MAX_ID_CHARS ? 'session_id' : 'task_name'))
    return
  }
  const sessionId = message.session_id ?? newId()
  const running = core.sessions.get(sessionId)
  const earlier = runtime.forwarded.get(sessionId)
  if (running !== undefined || (earlier !== undefined && earlier.requesterId !== identity.clientId)) {
    fail((running ?? earlier)?.requesterId === identity.clientId ? Texts.sessionRunning(sessionId) : Texts.sessionOwned(sessionId), sessionId)
    return
  }
  const finished = core.options.results.getBySession(sessionId)
  if (finished !== undefined) {
    fail(finished.requesterId === identity.clientId ? Texts.sessionUsed(sessionId) : Texts.sessionOwned(sessionId), sessionId)
    return
  }
  if (core.draining) { fail(Texts.serverDraining); return }
  if (!runtime.ready) { fail(Texts.clusterUnavailable); return }
  const task: ClusterTaskMessage = {
    kind: 'task',
    sessionId,
    requesterId: identity.clientId,
    requesterNode: link.nodeId,
    requesterTargetId: identity.targetId,
    capabilities: identity.grant?.capabilities ?? [],
    task: { ...message, session_id: sessionId },
    frameSize
  }
  // A TASK sent again for a session forwarded before keeps its record (its ack, its node): the device's node answers.
  // A new one is noted as being forwarded: its ack may come back before the store's answer does.
  const forwarding: ForwardedSession = earlier ?? {
    sessionId,
    taskName: sanitizeTaskName(message.task_name ?? sessionId),
    request,
    requesterId: identity.clientId,
    deviceId: targetId,
    nodeId: '',
    startedAt: core.options.now(),
    acked: false,
    acks: 0
  }
  if (earlier === undefined) runtime.forwarding.set(sessionId, forwarding)
  let outcome: HolderSendOutcome | undefined
  let ended: TaskRecord | undefined
  try {
    // A requester granted `resume` may be sending again a TASK that ended elsewhere while it moved: answered from
    // the cluster's results, never run twice.
    ended = granted(identity, 'resume') && message.session_id !== null ? await link.getResult(sessionId) : undefined
    // The device's lookup and the TASK's append, in one step when the link can.
    if (ended === undefined) outcome = await sendToDevice(link, targetId, task)
  } catch (err) {
    core.logger.warn({ err, sessionId, deviceId: targetId }, 'cluster: task not forwarded')
    fail(Texts.clusterUnavailable)
    return
  } finally {
    // Still there: no frame of the session ended it (or refused its TASK) meanwhile.
    const pending = runtime.forwarding.get(sessionId) === forwarding
    if (pending) runtime.forwarding.delete(sessionId)
    if (earlier === undefined && pending && outcome?.sent === true) {
      runtime.forwarded.set(sessionId, { ...forwarding, nodeId: outcome.nodeId })
      runtime.watch.ensure()
    }
  }
  if (ended !== undefined) {
    if (ended.requesterId !== identity.clientId) { fail(Texts.sessionOwned(sessionId), sessionId); return }
    core.logger.debug({ sessionId, clientId: identity.clientId }, 'TASK of a session ended on another node sent again: TASK_END repeated')
    connection.send(buildTaskEnd({ sessionId, status: ended.status, result: ended.result, error: ended.error }))
    return
  }
  const sent = outcome as HolderSendOutcome
  if (!sent.sent) {
    const holder = sent.holder
    fail(holder === null || holder.nodeId === link.nodeId ? Texts.targetNotConnected(targetId) : Texts.targetNotDevice)
    return
  }
  const forwarded = runtime.forwarded.get(sessionId)
  // The connection left for good while the store answered (its leaving cancelled what it had forwarded before this
  // one): this one is cancelled the same way. Away, or resumed on a new connection, its sessions go on.
  const resumed = core.away.has(identity.clientId) || (granted(identity, 'resume') && core.clients.has(identity.clientId))
  if (forwarded !== undefined && earlier === undefined && connection.closed && !resumed) {
    runtime.forwarded.delete(sessionId)
    link.send(targetId, { kind: 'cancel', sessionId, requesterId: identity.clientId, reason: 'requester_disconnected' }, forwarded.nodeId)
      .catch((err: unknown) => { core.logger.warn({ err, sessionId }, 'cluster: cancel of a forwarded session not sent') })
    return
  }
  core.logger.info({ sessionId, requesterId: identity.clientId, deviceId: targetId, nodeId: sent.nodeId }, 'task forwarded to another node')
}

/**
 * Appends a message (a TASK, a dispatch) to the mailbox of a device held by another node: in one step when the link
 * can (`sendToHolder`), else looked up, then sent.
 */
export async function sendToDevice (link: ClusterLink, deviceId: string, message: ClusterMessage): Promise<HolderSendOutcome> {
  if (link.sendToHolder !== undefined) return await link.sendToHolder(deviceId, message, 'device')
  const holder = await link.locate(deviceId)
  if (holder === null || holder.nodeId === link.nodeId || holder.clientType !== 'device') return { sent: false, holder }
  await link.send(deviceId, message, holder.nodeId)
  return { sent: true, nodeId: holder.nodeId }
}

/**
 * `task_cancel` for a session this node forwarded: sent to the device's node, whose TASK_END answers it. False
 * when the session was not forwarded from here (the caller answers as for any unknown session).
 */
export function cancelForwarded (runtime: ClusterRuntime, connection: ClientConnection, identity: Identity, message: DecodedClientMessage): boolean {
  const sessionId = message.session_id
  const forwarded = sessionId === null ? undefined : runtime.forwarded.get(sessionId)
  if (forwarded === undefined) return false
  const ids = { sessionId, responseId: message.request_id ?? undefined }
  if (forwarded.requesterId !== identity.clientId) {
    connection.send(serverError({ error: Texts.sessionOwned(forwarded.sessionId), ...ids }))
    return true
  }
  if (!runtime.ready) {
    connection.send(serverError({ error: Texts.clusterUnavailable, ...ids }))
    return true
  }
  runtime.core.logger.info({ sessionId, clientId: identity.clientId, reason: clip(message.error ?? '', 256) }, 'task cancel requested')
  runtime.link.send(forwarded.deviceId, { kind: 'cancel', sessionId: forwarded.sessionId, requesterId: identity.clientId, reason: 'cancelled by the requester' }, forwarded.nodeId)
    .catch((err: unknown) => {
      runtime.core.logger.warn({ err, sessionId }, 'cluster: cancel not sent')
      connection.send(serverError({ error: Texts.clusterUnavailable, ...ids }))
    })
  return true
}
