import { TRACEPARENT, childLogger, type Logger, type TraceSpan } from '@aip/endpoint'
import { buildCommand, type Command, type DecodedServerMessage, type Result } from '@aip/protocol'
import type { AgentContext, AgentOutcome, AgentTask, ExecuteOptions } from './agent.js'
import { holdsCommands, writeCommand } from './command-writer.js'
import type { ServerCore } from './core.js'
import { CommandTimeoutError, SessionCancelledError, TaskFailedError } from './errors.js'
import type { OutstandingCommand, PendingCommand, Session } from './session.js'
import { finishTask } from './task-end.js'
import { Texts } from './texts.js'
import type { DeviceServerEvents } from './types.js'

/**
 * Runs the agent of a started session to its outcome, then ends the task. Not an `async` function: the agent's
 * promise is followed by one reaction (no promise of the runner's own, no `catch` on it); whatever throws after the
 * agent has ended is logged as `task runner failed`.
 */
export function runTask (core: ServerCore, session: Session, metadata: Record<string, unknown> | null): void {
  let context: TaskContext
  let running: Promise<AgentOutcome>
  try {
    const device = core.options.registry.get(session.deviceId)
    const task = new ServerTask(session, device?.platform ?? null, metadata)
    context = new TaskContext(core, session, device?.systemInfo ?? null)
    try {
      // As `await` takes it: a promise, a thenable or a plain value.
      running = Promise.resolve(core.options.agent(task, context))
    } catch (err) {
      running = Promise.reject(err)
    }
  } catch (err) {
    runnerFailed(core, session, err)
    return
  }
  running.then((outcome) => { context.settled(outcome) }, (err: unknown) => { context.failed(err) })
}

/**
 * The task an agent is given. A class, its `traceparent` a getter on the prototype (the ids are drawn only when read):
 * an object literal with a getter of its own costs a closure and a slow literal per task (656 bytes against 88 for
 * this object, measured in isolation).
 */
class ServerTask implements AgentTask {
  readonly sessionId: string
  readonly taskName: string
  readonly request: string
  readonly requesterId: string
  readonly deviceId: string
  readonly platform: string | null
  readonly metadata: Readonly<Record<string, unknown>> | null
  readonly #trace: TraceSpan

  constructor (session: Session, platform: string | null, metadata: Record<string, unknown> | null) {
    this.sessionId = session.id
    this.taskName = session.taskName
    this.request = session.request
    this.requesterId = session.requesterId
    this.deviceId = session.deviceId
    this.platform = platform
    this.metadata = metadata
    this.#trace = session.trace as TraceSpan
  }

  /** The W3C `traceparent` of the task's span. */
  get traceparent (): string {
    return this.#trace.traceparent
  }
}

/** Logs what went wrong in the runner itself (not in the agent). */
function runnerFailed (core: ServerCore, session: Session, err: unknown): void {
  core.logger.error({ err, sessionId: session.id, deviceId: session.deviceId, traceId: session.trace?.traceId }, 'task runner failed')
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

  /** The agent has returned `outcome`: the task ends. Never throws (it logs). */
  settled (outcome: AgentOutcome): void {
    if (outcome === null || typeof outcome !== 'object' || (outcome.status !== 'completed' && outcome.status !== 'failed')) {
      this.failed(new TypeError('the agent returned no { status } outcome'))
      return
    }
    this.#end(outcome)
  }

  /** The agent has thrown `err`: the task fails. Never throws (it logs). */
  failed (err: unknown): void {
    const session = this.#session
    try {
      if (!session.aborted && !(err instanceof TaskFailedError)) this.logger.error({ err }, 'agent failed')
      this.#end({ status: 'failed', error: publicError(this.#core, session, err) })
    } catch (failure) {
      runnerFailed(this.#core, session, failure)
    }
  }

  #end (outcome: AgentOutcome): void {
    const core = this.#core
    const session = this.#session
    try {
      finishTask(core, session, session.aborted ? { status: 'failed', error: cancelText(core, session, session.abortReason) } : outcome)
    } catch (failure) {
      runnerFailed(core, session, failure)
    }
  }

  get logger (): Logger {
    const session = this.#session
    return (this.#logger ??= childLogger(this.#core.logger, { sessionId: session.id, deviceId: session.deviceId, traceId: (session.trace as TraceSpan).traceId }))
  }
}

/** The options of an `execute` call given none (never written to). */
const NO_OPTIONS: ExecuteOptions = Object.freeze({})

/**
 * Sends one COMMAND to the session's device and resolves with its Results (the agent's `execute`). Not an `async`
 * function: the promise the agent awaits is the one the COMMAND's results settle, and what ends the COMMAND (its
 * step, its timeout released, `commandEnd`) runs as they arrive, in {@link CommandCall} (no second promise, no
 * extra microtask per COMMAND).
 */
function execute (core: ServerCore, session: Session, commands: readonly Command[], options: ExecuteOptions = NO_OPTIONS): Promise<Result[]> {
  if (session.aborted) {
    return Promise.reject(session.abortReason instanceof Error ? session.abortReason : new SessionCancelledError(session.id, 'aborted'))
  }
  // A device away inside its resume window gets the COMMAND when it resumes; a device gone fails the task.
  if (!core.clients.has(session.deviceId) && !core.away.has(session.deviceId)) return Promise.reject(new SessionCancelledError(session.id, 'device_disconnected'))
  let command: DecodedServerMessage
  try {
    command = buildCommand({
      sessionId: session.id,
      taskName: session.taskName,
      actions: commands,
      agentName: options.agentName ?? core.options.agentName,
      processName: options.processName ?? null,
      rootName: options.rootName ?? null
    })
  } catch (err) {
    return Promise.reject(err)
  }
  const responseId = command.response_id as string
  const timeoutMs = options.timeoutMs ?? core.options.commandTimeoutMs
  // Only a task that came with a trace context gives its COMMANDs one, the task span's (a COMMAND has no span of its
  // own): a Python-only fleet sees reference frames.
  const extra = session.propagateTrace && session.trace !== null ? { [TRACEPARENT]: session.trace.traceparent } : null
  const outgoing: OutstandingCommand = { command, extra, dueAt: core.options.now() + timeoutMs, sent: false }
  // Registered before the COMMAND is sent, so that a fast answer cannot be missed. The results, the timeout, an abort
  // of the task or of `options.signal` all settle this one call (no race, no second promise per command).
  const call = new CommandCall(core, session, responseId, outgoing, options.signal)
  const answer = new Promise<Result[]>(call.bind)
  session.wait(responseId, call)
  // The default timeout shares one timer with every COMMAND of the server; another one gets a timer of its own.
  const deadlines = core.commandDeadlines
  if (timeoutMs === deadlines.delayMs) {
    call.ticket = deadlines.add(session, responseId)
  } else {
    call.timer = setTimeout(() => session.fail(responseId, new CommandTimeoutError(responseId, timeoutMs)), timeoutMs)
    call.timer.unref()
  }
  call.listen()
  // Not written (the device is away, or its connection closing): kept, and written when the device resumes.
  try {
    if (!writeCommand(core, session, outgoing) && !holdsCommands(core, session.deviceId)) {
      session.fail(responseId, new SessionCancelledError(session.id, 'device_disconnected'))
    }
  } catch (err) {
    session.fail(responseId, err instanceof Error ? err : new Error(String(err)))
  }
  return answer
}

/**
 * One COMMAND of `execute` waiting for its results: its session's wait for them ({@link PendingCommand}), its
 * timeout, its abort listener. Settled once, by the session: its results, a timeout, or a cancel.
 */
class CommandCall implements PendingCommand {
  readonly #core: ServerCore
  readonly #session: Session
  readonly #responseId: string
  readonly #signal: AbortSignal | undefined
  /** The COMMAND, kept to be sent again when its device resumes. */
  outgoing: OutstandingCommand | null
  /** Its ticket in the server's shared deadlines, or -1 when it has a timer of its own. */
  ticket = -1
  timer: NodeJS.Timeout | undefined = undefined
  /** When it was sent (`performance.now()`), timed only when metrics are collected or someone listens to `commandEnd`; else -1. */
  readonly #sentAt: number
  #onAbort: (() => void) | undefined = undefined
  #resolve: ((results: Result[]) => void) | null = null
  #reject: ((err: Error) => void) | null = null

  constructor (core: ServerCore, session: Session, responseId: string, outgoing: OutstandingCommand, signal: AbortSignal | undefined) {
    this.#core = core
    this.#session = session
    this.#responseId = responseId
    this.outgoing = outgoing
    this.#signal = signal
    this.#sentAt = core.meter !== null || core.events.listenerCount('commandEnd') > 0 ? performance.now() : -1
  }

  /** The executor of the promise `execute` returns. */
  readonly bind = (resolve: (results: Result[]) => void, reject: (err: Error) => void): void => {
    this.#resolve = resolve
    this.#reject = reject
  }

  /** Listens to the `signal` of the call's options, if any: its abort cancels the task. */
  listen (): void {
    const signal = this.#signal
    if (signal === undefined) return
    const session = this.#session
    this.#onAbort = (): void => { session.cancel(signal.reason instanceof Error ? signal.reason : new SessionCancelledError(session.id, 'aborted')) }
    signal.addEventListener('abort', this.#onAbort, { once: true })
  }

  resolve (results: Result[]): void {
    const session = this.#session
    session.addStep({ request: session.request, result: results })
    this.#end('ok')
    ;(this.#resolve as (results: Result[]) => void)(results)
  }

  reject (err: Error): void {
    this.#end(err instanceof CommandTimeoutError ? 'timeout' : 'cancelled')
    ;(this.#reject as (err: Error) => void)(err)
  }

  #end (status: DeviceServerEvents['commandEnd']['status']): void {
    const core = this.#core
    const session = this.#session
    if (this.#sentAt !== -1) {
      const durationMs = performance.now() - this.#sentAt
      core.meter?.commandEnded(status, durationMs / 1000)
      if (core.events.listenerCount('commandEnd') > 0) core.events.emit('commandEnd', { sessionId: session.id, deviceId: session.deviceId, durationMs, status })
    }
    // A COMMAND that did not end well is an event on the task span; the device's tool spans show the others.
    if (status !== 'ok' && session.trace?.recording === true) session.trace.span.addEvent('aip.command', { 'aip.response_id': this.#responseId, 'aip.command.status': status })
    if (this.timer === undefined) {
      core.commandDeadlines.release(this.ticket)
    } else {
      clearTimeout(this.timer)
    }
    if (this.#onAbort !== undefined) this.#signal?.removeEventListener('abort', this.#onAbort)
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
