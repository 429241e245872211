import { buildTaskEnd, encodeServerMessage } from '@aip/protocol'
import type { AgentOutcome } from './agent.js'
import { MAX_MISSED_ENDS } from './away.js'
import type { ServerCore } from './core.js'
import type { TaskRecord } from './results.js'
import type { Session } from './session.js'
import { Texts } from './texts.js'

/**
 * Ends a task once: encodes its TASK_END (a result that cannot be serialised fails the task instead), stores its
 * record, sends the one TASK_END to the requester and a copy to the device, settles its dispatch, emits
 * `taskEnd` and wakes whoever waits for its end.
 */
export function finishTask (core: ServerCore, session: Session, outcome: AgentOutcome): void {
  if (session.ended) return
  session.ended = true
  if (session.deadlineTimer !== null) clearTimeout(session.deadlineTimer)
  session.deadlineTimer = null
  let result: unknown = outcome.result !== undefined ? outcome.result : session.steps
  let error: string | null = outcome.status === 'failed' ? (outcome.error ?? Texts.agentFailed) : (outcome.error ?? null)
  // Encoded first: a result JSON cannot hold (a cycle, a BigInt from a custom agent) must still end the task.
  let status = outcome.status
  let message = buildTaskEnd({ sessionId: session.id, status, result, error })
  let text: string
  try {
    text = encodeServerMessage(message, { validate: false })
  } catch (err) {
    core.logger.error({ err, sessionId: session.id, deviceId: session.deviceId, traceId: session.trace?.traceId }, 'task result cannot be serialised')
    status = 'failed'
    error = Texts.resultNotSerialisable
    result = null
    message = buildTaskEnd({ sessionId: session.id, status, result, error })
    text = encodeServerMessage(message, { validate: false })
  }
  const record: TaskRecord = {
    sessionId: session.id,
    taskName: session.taskName,
    requesterId: session.requesterId,
    deviceId: session.deviceId,
    request: session.request,
    status,
    error,
    result,
    startedAt: session.startedAt,
    endedAt: core.options.now(),
    sizeBytes: text.length + session.request.length
  }
  core.sessions.delete(session.id)
  core.charge(session.requesterId, -1, -session.sizeBytes)
  core.onLoadChange()
  core.options.results.put(record)
  // One TASK_END, one response_id: to the requester and a copy to the device (the same connection for a
  // device's own task). A device whose requester left is told, so it stops working on the task (B4).
  const requester = core.clients.get(session.requesterId)
  const device = session.deviceId === session.requesterId ? undefined : core.clients.get(session.deviceId)
  const delivered = requester?.sendEncoded(message, text) === true
  device?.sendEncoded(message, text)
  // In a cluster: the record is stored cluster-wide, and a requester on another node gets its TASK_END there.
  core.cluster?.taskEnded(session, record, message, text, delivered)
  // A device away (inside its resume window) gets its copy when it resumes. A requester away re-sends its TASK.
  const awayDevice = core.away.get(session.deviceId)
  if (awayDevice !== undefined) {
    awayDevice.missedEnds.push(session.id)
    if (awayDevice.missedEnds.length > MAX_MISSED_ENDS) awayDevice.missedEnds.shift()
  }
  if (core.logs('info')) core.logger.info({ sessionId: session.id, deviceId: session.deviceId, traceId: session.trace?.traceId, status: record.status, error: record.error }, 'task ended')
  session.trace?.end(record.status === 'failed' ? (record.error ?? 'failed') : undefined)
  core.dispatches.settle(session.deviceId, session.id, record)
  core.meter?.taskEnded(record.status === 'failed', Math.max(0, record.endedAt - record.startedAt) / 1000)
  core.events.emit('taskEnd', record)
  const waiters = core.endWaiters.get(session)
  if (waiters === undefined) return
  core.endWaiters.delete(session)
  for (const resolve of waiters) resolve()
}
