import { SpanKind, TRACEPARENT, parseTraceparent, startTraceSpan } from '@aip/endpoint'
import { buildTaskAck, newId, sanitizeTaskName, type DecodedClientMessage } from '@aip/protocol'
import type { ClientConnection, Identity } from './connection.js'
import type { ServerCore } from './core.js'
import { requestTooLarge, serverError } from './server-error.js'
import { Session } from './session.js'
import { runTask } from './task-runner.js'
import { MAX_ID_CHARS, Texts } from './texts.js'

/** The device a TASK runs on, or the text of its refusal. */
function taskDevice (core: ServerCore, identity: Identity, message: DecodedClientMessage): { deviceId: string } | { refusal: string } {
  if (identity.clientType === 'constellation') {
    const targetId = message.target_id
    if (targetId === null) return { refusal: Texts.constellationNeedsTarget }
    const target = core.clients.get(targetId)
    if (target === undefined) return { refusal: Texts.targetNotConnected(targetId) }
    if (target.identity?.clientType !== 'device') return { refusal: Texts.targetNotDevice }
    if (identity.targetId !== null && identity.targetId !== targetId) return { refusal: Texts.taskNotAuthorized }
    return { deviceId: targetId }
  }
  if (message.target_id !== null && message.target_id !== identity.clientId) return { refusal: Texts.deviceTargetsDevice }
  return { deviceId: identity.clientId }
}

/**
 * Decides a TASK: every check (target, request, ids, session in use, drain, limits) passes and the task starts
 * (a Session, its ack, its agent), or the requester gets an ERROR carrying the TASK's ids.
 */
export function admitTask (core: ServerCore, connection: ClientConnection, identity: Identity, message: DecodedClientMessage, frameSize: number): void {
  const fail = (error: string): boolean =>
    connection.send(serverError({ error, sessionId: message.session_id, responseId: message.request_id ?? undefined }))
  const target = taskDevice(core, identity, message)
  if ('refusal' in target) { fail(target.refusal); return }
  const { deviceId } = target
  const options = core.options
  const request = message.request
  if (request === null || request === '') { fail(Texts.taskNeedsRequest); return }
  if (requestTooLarge(request, options.maxRequestBytes)) { fail(Texts.requestTooLong(options.maxRequestBytes)); return }
  if ((message.session_id?.length ?? 0) > MAX_ID_CHARS || (message.task_name?.length ?? 0) > MAX_ID_CHARS) {
    fail(Texts.idTooLong((message.session_id?.length ?? 0) > MAX_ID_CHARS ? 'session_id' : 'task_name'))
    return
  }
  const dispatch = identity.clientType === 'device' ? core.dispatches.claim(identity.clientId, message) : undefined
  const sessionId = message.session_id ?? dispatch?.sessionId ?? newId()
  const running = core.sessions.get(sessionId)
  if (running !== undefined) {
    fail(running.requesterId === identity.clientId ? Texts.sessionRunning(sessionId) : Texts.sessionOwned(sessionId))
    return
  }
  const finished = options.results.getBySession(sessionId)
  if (finished !== undefined) {
    fail(finished.requesterId === identity.clientId ? Texts.sessionUsed(sessionId) : Texts.sessionOwned(sessionId))
    return
  }
  // A task already promised by a dispatch before the drain still runs; any other is refused.
  if (core.draining && dispatch === undefined) { fail(Texts.serverDraining); return }
  if (core.sessions.size >= options.maxSessions) { fail(Texts.tooManySessions); return }
  const usage = core.usage.get(identity.clientId)
  if (usage !== undefined && usage.sessions >= options.maxSessionsPerClient) { fail(Texts.tooManyClientSessions); return }
  if ((usage?.bytes ?? 0) + frameSize > options.maxSessionBytesPerClient) { fail(Texts.clientSessionsTooLarge); return }
  const taskName = sanitizeTaskName(message.task_name ?? sessionId)
  const session = new Session({ id: sessionId, taskName, request, requesterId: identity.clientId, deviceId, startedAt: options.now(), sizeBytes: frameSize })
  core.sessions.add(session)
  core.charge(identity.clientId, 1, frameSize)
  core.onLoadChange()
  const parent = message.metadata?.[TRACEPARENT]
  session.trace = startTraceSpan('@aip/device-server', 'aip.task', {
    parent: typeof parent === 'string' ? parent : null,
    kind: SpanKind.SERVER,
    attributes: { 'aip.session_id': sessionId, 'aip.task_name': taskName, 'aip.device_id': deviceId }
  })
  session.propagateTrace = parseTraceparent(parent) !== null
  // The ack goes out before the agent starts, so it always precedes the first COMMAND (B16).
  connection.send(buildTaskAck({ sessionId }))
  core.logger.info({ sessionId, taskName, requesterId: identity.clientId, deviceId, traceId: session.trace.traceId }, 'task started')
  core.events.emit('sessionStarted', { sessionId, taskName, requesterId: identity.clientId, deviceId })
  // The agent runs beside the connection's frame queue: the queue must go on to deliver COMMAND_RESULTS.
  runTask(core, session, message.metadata).catch((err: unknown) => core.logger.error({ err, sessionId }, 'task runner failed'))
}
