import { SpanKind, TRACEPARENT, parseTraceparent, startTraceSpan, type TraceSpanOptions } from '@aip/endpoint'
import { buildTaskAck, buildTaskEnd, newId, sanitizeTaskName, taskTimeoutMs, type DecodedClientMessage, type DecodedServerMessage } from '@aip/protocol'
import { granted } from './command-writer.js'
import { ClientConnection, type Identity } from './connection.js'
import type { ServerCore } from './core.js'
import { requestTooLarge, serverError } from './server-error.js'
import { Session } from './session.js'
import { runTask } from './task-runner.js'
import { MAX_ID_CHARS, Texts } from './texts.js'

/** The longest delay a Node timer holds (2^31 - 1 ms). */
const MAX_TIMER_MS = 2_147_483_647

/**
 * Where the answers to a TASK go: the requester's connection, or (for a requester on another node of a cluster) its
 * mailbox.
 */
export interface Replier {
  /** Sends a server frame to the requester; false when it is gone. */
  send: (message: DecodedServerMessage) => boolean
}

/** The refusal of a TASK: its text. */
interface Refusal { readonly refusal: string }

/** The id of the device a TASK runs on, or its refusal. */
function taskDevice (core: ServerCore, identity: Identity, message: DecodedClientMessage): string | Refusal {
  if (identity.clientType === 'constellation') {
    const targetId = message.target_id
    if (targetId === null) return { refusal: Texts.constellationNeedsTarget }
    // A device away inside its resume window takes tasks: they wait for it (bounded by maxSessionsPerAwayDevice).
    const target = core.clients.get(targetId)?.identity ?? core.away.get(targetId)?.identity
    if (target === undefined) return { refusal: Texts.targetNotConnected(targetId) }
    if (target.clientType !== 'device') return { refusal: Texts.targetNotDevice }
    if (identity.targetId !== null && identity.targetId !== targetId) return { refusal: Texts.taskNotAuthorized }
    return targetId
  }
  if (message.target_id !== null && message.target_id !== identity.clientId) return { refusal: Texts.deviceTargetsDevice }
  return identity.clientId
}

/** Refuses a TASK: an ERROR carrying its ids, to the requester. */
function refuse (connection: Replier, message: DecodedClientMessage, error: string): void {
  connection.send(serverError({ error, sessionId: message.session_id, responseId: message.request_id ?? undefined }))
}

/**
 * Decides a TASK: every check (target, request, ids, session in use, drain, limits) passes and the task starts
 * (a Session, its ack, its agent), or the requester gets an ERROR carrying the TASK's ids. In a cluster, a
 * constellation's TASK for a device on another node is forwarded there (the promise returned then).
 */
export function admitTask (core: ServerCore, connection: Replier, identity: Identity, message: DecodedClientMessage, frameSize: number): Promise<void> | undefined {
  if (granted(identity, 'resume') && answeredAgain(core, connection, identity, message.session_id)) return
  const cluster = core.cluster
  if (cluster !== null && identity.clientType === 'constellation' && cluster.isRemote(message.target_id) && connection instanceof ClientConnection) {
    return cluster.forward(connection, identity, message, frameSize)
  }
  const deviceId = taskDevice(core, identity, message)
  if (typeof deviceId !== 'string') { refuse(connection, message, deviceId.refusal); return }
  const options = core.options
  const request = message.request
  if (request === null || request === '') { refuse(connection, message, Texts.taskNeedsRequest); return }
  if (requestTooLarge(request, options.maxRequestBytes)) { refuse(connection, message, Texts.requestTooLong(options.maxRequestBytes)); return }
  if ((message.session_id?.length ?? 0) > MAX_ID_CHARS || (message.task_name?.length ?? 0) > MAX_ID_CHARS) {
    refuse(connection, message, Texts.idTooLong((message.session_id?.length ?? 0) > MAX_ID_CHARS ? 'session_id' : 'task_name'))
    return
  }
  const dispatch = identity.clientType === 'device' ? core.dispatches.claim(identity.clientId, message) : undefined
  const sessionId = message.session_id ?? dispatch?.sessionId ?? newId()
  const running = core.sessions.get(sessionId)
  if (running !== undefined) {
    refuse(connection, message, running.requesterId === identity.clientId ? Texts.sessionRunning(sessionId) : Texts.sessionOwned(sessionId))
    return
  }
  const finished = options.results.getBySession(sessionId)
  if (finished !== undefined) {
    refuse(connection, message, finished.requesterId === identity.clientId ? Texts.sessionUsed(sessionId) : Texts.sessionOwned(sessionId))
    return
  }
  // A task already promised by a dispatch before the drain still runs; any other is refused.
  if (core.draining && dispatch === undefined) { refuse(connection, message, Texts.serverDraining); return }
  if (core.sessions.size >= options.maxSessions) { refuse(connection, message, Texts.tooManySessions); return }
  const usage = core.usage.get(identity.clientId)
  if (usage !== undefined && usage.sessions >= options.maxSessionsPerClient) { refuse(connection, message, Texts.tooManyClientSessions); return }
  if (core.away.has(deviceId) && waitingFor(core, deviceId) >= options.maxSessionsPerAwayDevice) {
    refuse(connection, message, Texts.tooManyWaitingForDevice(deviceId, options.maxSessionsPerAwayDevice))
    return
  }
  if ((usage?.bytes ?? 0) + frameSize > options.maxSessionBytesPerClient) { refuse(connection, message, Texts.clientSessionsTooLarge); return }
  const taskName = sanitizeTaskName(message.task_name ?? sessionId)
  const session = new Session({ id: sessionId, taskName, request, requesterId: identity.clientId, deviceId, startedAt: options.now(), sizeBytes: frameSize })
  core.sessions.add(session)
  core.charge(identity.clientId, 1, frameSize)
  core.onLoadChange()
  const parent = parseTraceparent(message.metadata?.[TRACEPARENT])
  session.trace = startTraceSpan('@aip/device-server', 'aip.task', new TaskSpanOptions(parent, session))
  session.propagateTrace = parent !== null
  const deadlineMs = taskTimeoutMs(message.metadata)
  // Any requester may give a deadline: at it the session is cancelled, as a `task_cancel` would. One beyond what a
  // timer can hold (about 24.8 days) is no deadline in practice, and a longer delay would fire at once.
  if (deadlineMs !== null && deadlineMs <= MAX_TIMER_MS) {
    session.deadlineAt = session.startedAt + deadlineMs
    session.deadlineTimer = setTimeout(() => { core.cancelSession(session, 'deadline passed') }, deadlineMs)
    session.deadlineTimer.unref()
  }
  // The ack goes out before the agent starts, so it always precedes the first COMMAND (B16).
  connection.send(buildTaskAck({ sessionId }))
  if (core.logs('info')) core.logger.info({ sessionId, taskName, requesterId: identity.clientId, deviceId, traceId: session.trace.traceId }, 'task started')
  core.meter?.taskStarted()
  // Its payload is built only for a listener (none in a plain server).
  if (core.events.listenerCount('sessionStarted') > 0) core.events.emit('sessionStarted', { sessionId, taskName, requesterId: identity.clientId, deviceId })
  // The agent runs beside the connection's frame queue: the queue must go on to deliver COMMAND_RESULTS.
  runTask(core, session, message.metadata)
}

/**
 * The options of a task's span: one object, its attributes built only when read (the span records: an SDK is
 * registered and kept it), where an options literal with an attributes closure was three objects per task.
 */
class TaskSpanOptions implements TraceSpanOptions {
  readonly parent: TraceSpanOptions['parent']
  readonly kind = SpanKind.SERVER
  readonly #session: Session

  constructor (parent: TraceSpanOptions['parent'], session: Session) {
    this.parent = parent
    this.#session = session
  }

  get attributes (): NonNullable<TraceSpanOptions['attributes']> {
    const session = this.#session
    return { 'aip.session_id': session.id, 'aip.task_name': session.taskName, 'aip.device_id': session.deviceId }
  }
}

/** Running sessions of `deviceId` (while it is away, they all wait for it). */
function waitingFor (core: ServerCore, deviceId: string): number {
  let count = 0
  for (const session of core.sessions.list()) if (session.deviceId === deviceId) count++
  return count
}

/**
 * A TASK sent again by a requester granted `resume` (after its own resume) for a session it already owns is
 * answered without running anything twice: running → its ack again; finished and kept → its TASK_END again.
 * False when the session is neither (the TASK goes through the usual checks).
 */
function answeredAgain (core: ServerCore, connection: Replier, identity: Identity, sessionId: string | null): boolean {
  if (sessionId === null) return false
  const running = core.sessions.get(sessionId)
  if (running !== undefined) {
    if (running.requesterId !== identity.clientId) return false
    core.logger.debug({ sessionId, clientId: identity.clientId }, 'TASK of a running session sent again: ack repeated')
    connection.send(buildTaskAck({ sessionId }))
    return true
  }
  const finished = core.options.results.getBySession(sessionId)
  if (finished === undefined || finished.requesterId !== identity.clientId) return false
  core.logger.debug({ sessionId, clientId: identity.clientId }, 'TASK of a finished session sent again: TASK_END repeated')
  connection.send(buildTaskEnd({ sessionId, status: finished.status, result: finished.result, error: finished.error }))
  return true
}
