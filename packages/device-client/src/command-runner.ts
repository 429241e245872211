import { TRACEPARENT, extraFieldsOf, parseTraceparent } from '@aip/endpoint'
import {
  RESENT_FIELD, buildCommandResults, type Command, type ContinuityGrant, type DecodedClientMessage, type DecodedServerMessage,
  type Result
} from '@aip/protocol'
import type { Logger } from '@aip/resilience'
import { commandDeadline, runWithDeadline, type CommandDeadline } from './command-deadline.js'
import { RestartedInFlightError } from './errors.js'
import type { CommandExecutor } from './executor.js'
import type { ResultCache } from './result-cache.js'
import { reasonText } from './tools.js'

/** The trace id of a COMMAND's trace context (our server's `traceparent` field), when it carries one. */
function traceIdOf (message: DecodedServerMessage): string | undefined {
  return parseTraceparent(extraFieldsOf(message)?.[TRACEPARENT])?.traceId
}

/** What the client knows of its current registration, read for each COMMAND. */
export interface RegistrationFacts {
  /** The grant of the current registration (`null`: the server granted nothing, or continuity is off). */
  readonly grant: ContinuityGrant | null
  /** This is the first registration of this client object (the device process just started). */
  readonly first: boolean
}

/** Which COMMAND an event is about. */
export interface CommandRef {
  readonly sessionId: string | null
  /** The COMMAND's `response_id` (its results' `prev_response_id`). */
  readonly responseId: string | null
  /** The server sent it again after a resume (`aip_resent`). */
  readonly resent: boolean
}

/** The events of a {@link CommandRunner} (events of the device client). */
export interface CommandEvents {
  /** The executor was called for a COMMAND: one event per execution (count them to prove nothing ran twice). */
  commandExecuted: CommandRef
  /**
   * A COMMAND this device already knew (by its `response_id`; continuity) was not run again: `running` (its
   * results go out when it ends) or `cached` (its COMMAND_RESULTS were sent again).
   */
  commandDeduplicated: CommandRef & { readonly answer: 'running' | 'cached' }
  /**
   * A COMMAND re-sent after this device process restarted was answered `failure`
   * (`AIP_ERR_DEVICE_RESTARTED_IN_FLIGHT`) without running its actions.
   */
  commandNotRun: CommandRef & { readonly reason: 'restarted' }
  /** A COMMAND's deadline (`aip_timeout_ms`) passed: its tools were aborted and it was answered `failure`. */
  commandTimedOut: CommandRef & { readonly timeoutMs: number }
}

/** What a {@link CommandRunner} needs from its client. */
export interface CommandRunnerOptions {
  readonly executor: CommandExecutor
  readonly clientId: string
  readonly log: Logger
  /** The COMMAND_RESULTS of a COMMAND whose session is still running, to deliver. */
  readonly deliver: (results: DecodedClientMessage) => void
  /** A failure no caller can be told about. */
  readonly onError: (error: unknown) => void
  /**
   * The continuity rules (known COMMANDs are never run twice, deadlines): their cache and the current
   * registration. Default: none, the reference behaviour.
   */
  readonly continuity?: { readonly cache: ResultCache, readonly facts: () => RegistrationFacts } | undefined
  /** Tells an event. Default: nobody is told. */
  readonly report?: <K extends keyof CommandEvents>(event: K, payload: CommandEvents[K]) => void
}

interface SessionWork {
  readonly controller: AbortController
  chain: Promise<void>
  pending: number
}

/**
 * Runs the COMMANDs a device receives through its executor: one chain per session (its COMMANDs run one after
 * another, other sessions beside them), aborted when the session ends (TASK_END) or the client stops. The
 * results of a session that ended are not delivered.
 *
 * With continuity, a COMMAND is known by its `response_id`: while it runs (or waits in its chain) a copy is
 * ignored, once answered a copy gets the same COMMAND_RESULTS again from the cache; a re-sent COMMAND this
 * process never saw runs, unless the process restarted (its first registration resumed sessions): then its
 * actions are answered `failure` and not run, since they may have run before the restart. A COMMAND carrying a
 * deadline (`aip_timeout_ms`, `deadline` granted) is aborted and answered `failure` when it passes.
 */
export class CommandRunner {
  readonly #options: CommandRunnerOptions
  readonly #rules: CommandRunnerOptions['continuity']
  readonly #report: <K extends keyof CommandEvents>(event: K, payload: CommandEvents[K]) => void
  readonly #sessions = new Map<string | null, SessionWork>()
  /** COMMANDs queued or running, by `response_id`, with their session (continuity). */
  readonly #running = new Map<string, string | null>()

  constructor (options: CommandRunnerOptions) {
    this.#options = options
    this.#rules = options.continuity
    this.#report = options.report ?? (() => {})
  }

  /** Answers a COMMAND: from what is known of it (continuity), or by queueing it on its session's chain. */
  run (message: DecodedServerMessage): void {
    const ref: CommandRef = { sessionId: message.session_id, responseId: message.response_id, resent: extraFieldsOf(message)?.[RESENT_FIELD] === true }
    const responseId = message.response_id
    const rules = this.#rules
    if (rules !== undefined && responseId !== null && responseId !== '') {
      if (this.#answerKnown(responseId, ref, message)) return
      const { grant, first } = rules.facts()
      if (ref.resent && first && grant?.resumed === true && !dataCollectionOnly(message.actions ?? [])) {
        this.#answerRestarted(message, responseId, ref)
        return
      }
      this.#running.set(responseId, message.session_id)
    }
    this.#enqueue(message, ref)
  }

  /** The session ended (TASK_END): its running Commands are aborted, its later and kept results dropped. */
  endSession (sessionId: string | null): void {
    for (const [responseId, session] of this.#running) {
      if (session === sessionId) this.#running.delete(responseId)
    }
    this.#rules?.cache.endSession(sessionId)
    const work = this.#sessions.get(sessionId)
    if (work === undefined) return
    work.controller.abort(new Error(`session ${String(sessionId)} ended`))
    this.#sessions.delete(sessionId)
  }

  /** Aborts every session (the client stops). */
  abortAll (reason: unknown): void {
    for (const work of this.#sessions.values()) work.controller.abort(reason)
    this.#running.clear()
    this.#rules?.cache.clear()
  }

  /** Answers a COMMAND already running or answered; false when it is unknown. */
  #answerKnown (responseId: string, ref: CommandRef, message: DecodedServerMessage): boolean {
    const { log, deliver } = this.#options
    if (this.#running.has(responseId)) {
      log.info({ sessionId: ref.sessionId, responseId, traceId: traceIdOf(message), resent: ref.resent }, 'COMMAND already running; not run again')
      this.#report('commandDeduplicated', { ...ref, answer: 'running' })
      return true
    }
    const cached = this.#rules?.cache.get(responseId)
    if (cached === undefined) return false
    log.info({ sessionId: ref.sessionId, responseId, traceId: traceIdOf(message), resent: ref.resent }, 'COMMAND already answered; its results are sent again')
    this.#report('commandDeduplicated', { ...ref, answer: 'cached' })
    deliver(cached)
    return true
  }

  #answerRestarted (message: DecodedServerMessage, responseId: string, ref: CommandRef): void {
    const { log, deliver } = this.#options
    const error = new RestartedInFlightError().message
    log.warn({ sessionId: ref.sessionId, responseId, traceId: traceIdOf(message) }, 'COMMAND re-sent after a restart; its actions are not run again')
    const results = this.#results(message, failures(message.actions ?? [], error))
    this.#rules?.cache.put(responseId, results)
    this.#report('commandNotRun', { ...ref, reason: 'restarted' })
    deliver(results)
  }

  #enqueue (message: DecodedServerMessage, ref: CommandRef): void {
    const sessionId = message.session_id
    let work = this.#sessions.get(sessionId)
    if (work === undefined) {
      work = { controller: new AbortController(), chain: Promise.resolve(), pending: 0 }
      this.#sessions.set(sessionId, work)
    }
    const current = work
    // A deadline counts from the COMMAND's arrival, also while it waits behind the other COMMANDs of its session.
    const grant = this.#rules?.facts().grant ?? null
    const deadline = grant?.capabilities.includes('deadline') === true ? commandDeadline(extraFieldsOf(message)) : null
    current.pending++
    current.chain = current.chain
      .then(() => this.#execute(message, ref, deadline, current.controller.signal))
      .catch((err: unknown) => this.#options.onError(err))
      .finally(() => {
        current.pending--
        if (current.pending === 0 && this.#sessions.get(sessionId) === current) this.#sessions.delete(sessionId)
      })
  }

  async #execute (message: DecodedServerMessage, ref: CommandRef, deadline: CommandDeadline | null, session: AbortSignal): Promise<void> {
    const { executor, clientId, log } = this.#options
    const commands = message.actions ?? []
    // Our server's extension field: the COMMAND's trace context, when its task had one.
    const traceparent = extraFieldsOf(message)?.[TRACEPARENT]
    const responseId = message.response_id
    const sessionId = message.session_id
    const traceId = parseTraceparent(traceparent)?.traceId
    let results: Result[]
    try {
      if (session.aborted) {
        // The session ended while this COMMAND waited in its chain: nothing runs, nothing is sent.
        log.info({ sessionId, responseId, traceId }, 'session ended; COMMAND not run')
        return
      }
      const outcome = await runWithDeadline(deadline, session, (signal) => {
        this.#report('commandExecuted', ref)
        return executor.execute(commands, {
          sessionId: message.session_id,
          clientId,
          signal,
          logger: log,
          traceparent: typeof traceparent === 'string' ? traceparent : null
        })
      })
      if (outcome.timedOut) {
        const timeoutMs = deadline?.timeoutMs ?? 0
        log.warn({ sessionId, responseId, traceId, timeoutMs }, 'COMMAND deadline passed; its tools were aborted')
        this.#report('commandTimedOut', { ...ref, timeoutMs })
        results = failures(commands, outcome.error)
      } else {
        results = outcome.results
      }
    } catch (err) {
      log.error({ err, sessionId, responseId, traceId }, 'executor failed')
      results = failures(commands, reasonText(err))
    }
    if (session.aborted) {
      log.info({ sessionId, responseId, traceId }, 'session ended; results not sent')
      return
    }
    log.debug({ sessionId, responseId, traceId, commands: commands.length }, 'COMMAND answered')
    const answer = this.#results(message, results)
    // Cached before it leaves: a copy of the COMMAND arriving from now on is answered with these results.
    if (responseId !== null && this.#running.delete(responseId)) this.#rules?.cache.put(responseId, answer)
    this.#options.deliver(answer)
  }

  #results (message: DecodedServerMessage, results: Result[]): DecodedClientMessage {
    return buildCommandResults({
      clientId: this.#options.clientId,
      sessionId: message.session_id,
      prevResponseId: message.response_id ?? '',
      results
    })
  }
}

/** One `failure` Result per Command, echoing its `call_id`. */
function failures (commands: readonly Command[], error: string): Result[] {
  return commands.map((command) => ({ status: 'failure', error, result: null, namespace: null, call_id: command.call_id ?? null }))
}

/** Every Command only reads (`tool_type` `data_collection`): safe to run again after a restart. */
function dataCollectionOnly (commands: readonly Command[]): boolean {
  return commands.every((command) => command.tool_type === 'data_collection')
}
