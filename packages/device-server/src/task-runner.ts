import { TRACEPARENT, childLogger, type Logger, type TraceSpan } from '@aip/endpoint'
import { buildCommand, type Command, type Result } from '@aip/protocol'
import type { AgentContext, AgentOutcome, AgentTask, ExecuteOptions } from './agent.js'
import { holdsCommands, writeCommand } from './command-writer.js'
import type { ServerCore } from './core.js'
import { CommandTimeoutError, SessionCancelledError, TaskFailedError } from './errors.js'
import type { Session } from './session.js'
import { finishTask } from './task-end.js'
import { Texts } from './texts.js'
import type { DeviceServerEvents } from './types.js'

/** Runs the agent of a started session to its outcome, then ends the task. */
export async function runTask (core: ServerCore, session: Session, metadata: Record<string, unknown> | null): Promise<void> {
  const device = core.options.registry.get(session.deviceId)
  const trace = session.trace as TraceSpan
  const task: AgentTask = {
    sessionId: session.id,
    taskName: session.taskName,
    request: session.request,
    requesterId: session.requesterId,
    deviceId: session.deviceId,
    platform: device?.platform ?? null,
    metadata,
    get traceparent () { return trace.traceparent }
  }
  const context = new TaskContext(core, session, device?.systemInfo ?? null)
  let outcome: AgentOutcome
  try {
    outcome = await core.options.agent(task, context)
    if (outcome === null || typeof outcome !== 'object' || (outcome.status !== 'completed' && outcome.status !== 'failed')) {
      throw new TypeError('the agent returned no { status } outcome')
    }
  } catch (err) {
    outcome = { status: 'failed', error: publicError(core, session, err) }
    if (!session.aborted && !(err instanceof TaskFailedError)) context.logger.error({ err }, 'agent failed')
  }
  if (session.aborted) outcome = { status: 'failed', error: cancelText(core, session, session.abortReason) }
  finishTask(core, session, outcome)
}

/**
 * The context an agent runs with. One object per task, its getters on the prototype: the signal and the child
 * logger are made when first read (most agents read neither), and `execute` is the one closure (an agent may
 * destructure it).
 */
class TaskContext implements AgentContext {
  readonly systemInfo: AgentContext['systemInfo']
  readonly execute: AgentContext['execute']
  readonly #core: ServerCore
  readonly #session: Session
  #logger: Logger | undefined = undefined

  constructor (core: ServerCore, session: Session, systemInfo: AgentContext['systemInfo']) {
    this.#core = core
    this.#session = session
    this.systemInfo = systemInfo
    this.execute = (commands, options) => execute(core, session, commands, options)
  }

  get signal (): AbortSignal {
    return this.#session.signal
  }

  get logger (): Logger {
    const session = this.#session
    return (this.#logger ??= childLogger(this.#core.logger, { sessionId: session.id, deviceId: session.deviceId, traceId: (session.trace as TraceSpan).traceId }))
  }
}

/** The options of an `execute` call given none (never written to). */
const NO_OPTIONS: ExecuteOptions = Object.freeze({})

/** Sends one COMMAND to the session's device and resolves with its Results (the agent's `execute`). */
async function execute (core: ServerCore, session: Session, commands: readonly Command[], options: ExecuteOptions = NO_OPTIONS): Promise<Result[]> {
  if (session.aborted) {
    throw session.abortReason instanceof Error ? session.abortReason : new SessionCancelledError(session.id, 'aborted')
  }
  // A device away inside its resume window gets the COMMAND when it resumes; a device gone fails the task.
  if (!core.clients.has(session.deviceId) && !core.away.has(session.deviceId)) throw new SessionCancelledError(session.id, 'device_disconnected')
  const command = buildCommand({
    sessionId: session.id,
    taskName: session.taskName,
    actions: commands,
    agentName: options.agentName ?? core.options.agentName,
    processName: options.processName ?? null,
    rootName: options.rootName ?? null
  })
  const responseId = command.response_id as string
  const timeoutMs = options.timeoutMs ?? core.options.commandTimeoutMs
  // Registered before the COMMAND is sent, so that a fast answer cannot be missed. The timeout, an abort of the
  // task or of `options.signal` all settle this one promise (no race, no second promise per command).
  const answer = session.expect(responseId)
  // Only a task that came with a trace context gives its COMMANDs one, the task span's (a COMMAND has no span of its
  // own): a Python-only fleet sees reference frames.
  const extra = session.propagateTrace && session.trace !== null ? { [TRACEPARENT]: session.trace.traceparent } : null
  const outgoing = { command, extra, dueAt: core.options.now() + timeoutMs, sent: false }
  session.keep(responseId, outgoing)
  // Timed only when metrics are collected or someone listens to `commandEnd`.
  const sentAt = core.meter !== null || core.events.listenerCount('commandEnd') > 0 ? performance.now() : -1
  let status: DeviceServerEvents['commandEnd']['status'] = 'cancelled'
  // The default timeout shares one timer with every COMMAND of the server; another one gets a timer of its own.
  const deadlines = core.commandDeadlines
  const ticket = timeoutMs === deadlines.delayMs ? deadlines.add(session, responseId) : -1
  const timer = ticket === -1 ? setTimeout(() => session.fail(responseId, new CommandTimeoutError(responseId, timeoutMs)), timeoutMs) : undefined
  timer?.unref()
  const signal = options.signal
  const onAbort = signal === undefined
    ? undefined
    : (): void => { session.cancel(signal.reason instanceof Error ? signal.reason : new SessionCancelledError(session.id, 'aborted')) }
  if (onAbort !== undefined) signal?.addEventListener('abort', onAbort, { once: true })
  try {
    // Not written (the device is away, or its connection closing): kept, and written when the device resumes.
    if (!writeCommand(core, session, outgoing) && !holdsCommands(core, session.deviceId)) throw new SessionCancelledError(session.id, 'device_disconnected')
    const results = await answer
    status = 'ok'
    session.steps.push({ request: session.request, result: results })
    return results
  } catch (err) {
    if (err instanceof CommandTimeoutError) status = 'timeout'
    throw err
  } finally {
    if (sentAt !== -1) {
      const durationMs = performance.now() - sentAt
      core.meter?.commandEnded(status, durationMs / 1000)
      if (core.events.listenerCount('commandEnd') > 0) core.events.emit('commandEnd', { sessionId: session.id, deviceId: session.deviceId, durationMs, status })
    }
    // A COMMAND that did not end well is an event on the task span; the device's tool spans show the others.
    if (status !== 'ok' && session.trace?.recording === true) session.trace.span.addEvent('aip.command', { 'aip.response_id': responseId, 'aip.command.status': status })
    if (timer === undefined) {
      deadlines.release(ticket)
    } else {
      clearTimeout(timer)
    }
    session.forget(responseId)
    if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort)
  }
}

/** The text a requester reads for an agent's failure: a cancel's cause, a timeout, or a generic text. */
function publicError (core: ServerCore, session: Session, err: unknown): string {
  if (session.aborted) return cancelText(core, session, session.abortReason)
  if (err instanceof TaskFailedError) return err.message
  if (err instanceof CommandTimeoutError) return Texts.commandTimedOut(err.timeoutMs)
  // The device went away between its close and the session's cancellation: say so, not "the agent failed".
  if (err instanceof SessionCancelledError) return cancelText(core, session, err)
  return Texts.agentFailed
}

/** The text of a cancellation, read from the error's `reason` field. */
function cancelText (core: ServerCore, session: Session, reason: unknown): string {
  const cause = reason instanceof SessionCancelledError ? reason.reason : undefined
  switch (cause) {
    case 'device_disconnected': return Texts.deviceDisconnected
    case 'requester_disconnected': return Texts.requesterDisconnected
    case 'device_not_resumed': return Texts.deviceNotResumed(core.options.resumeWindowMs)
    case 'requester_not_resumed': return Texts.requesterNotResumed(core.options.resumeWindowMs)
    case 'cancelled by the requester': return Texts.cancelledByRequester
    case 'deadline passed': return Texts.deadlinePassed(session.deadlineAt === null ? 0 : session.deadlineAt - session.startedAt)
    case 'server_stopping': return Texts.serverShuttingDown
    default: return Texts.taskCancelled(cause ?? 'cancelled')
  }
}
