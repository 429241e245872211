import { TRACEPARENT, extraFieldsOf } from '@aip/endpoint'
import { buildCommandResults, type DecodedClientMessage, type DecodedServerMessage, type Result } from '@aip/protocol'
import type { Logger } from '@aip/resilience'
import type { CommandExecutor } from './executor.js'
import { reasonText } from './tools.js'

/** What a {@link CommandRunner} needs from its client. */
export interface CommandRunnerOptions {
  readonly executor: CommandExecutor
  readonly clientId: string
  readonly log: Logger
  /** The COMMAND_RESULTS of a COMMAND whose session is still running, to deliver. */
  readonly deliver: (results: DecodedClientMessage) => void
  /** A failure no caller can be told about. */
  readonly onError: (error: unknown) => void
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
 */
export class CommandRunner {
  readonly #options: CommandRunnerOptions
  readonly #sessions = new Map<string | null, SessionWork>()

  constructor (options: CommandRunnerOptions) {
    this.#options = options
  }

  /** Queues a COMMAND on its session's chain. */
  run (message: DecodedServerMessage): void {
    const sessionId = message.session_id
    let work = this.#sessions.get(sessionId)
    if (work === undefined) {
      work = { controller: new AbortController(), chain: Promise.resolve(), pending: 0 }
      this.#sessions.set(sessionId, work)
    }
    const current = work
    current.pending++
    current.chain = current.chain
      .then(() => this.#execute(message, current.controller.signal))
      .catch((err: unknown) => this.#options.onError(err))
      .finally(() => {
        current.pending--
        if (current.pending === 0 && this.#sessions.get(sessionId) === current) this.#sessions.delete(sessionId)
      })
  }

  /** The session ended (TASK_END): its running Commands are aborted and its later results dropped. */
  endSession (sessionId: string | null): void {
    const work = this.#sessions.get(sessionId)
    if (work === undefined) return
    work.controller.abort(new Error(`session ${String(sessionId)} ended`))
    this.#sessions.delete(sessionId)
  }

  /** Aborts every session (the client stops). */
  abortAll (reason: unknown): void {
    for (const work of this.#sessions.values()) work.controller.abort(reason)
  }

  async #execute (message: DecodedServerMessage, signal: AbortSignal): Promise<void> {
    const { executor, clientId, log } = this.#options
    const commands = message.actions ?? []
    // Our server's extension field: the COMMAND's trace context, when its task had one.
    const traceparent = extraFieldsOf(message)?.[TRACEPARENT]
    let results: Result[]
    try {
      results = await executor.execute(commands, {
        sessionId: message.session_id,
        clientId,
        signal,
        logger: log,
        traceparent: typeof traceparent === 'string' ? traceparent : null
      })
    } catch (err) {
      log.error({ err, sessionId: message.session_id }, 'executor failed')
      const error = reasonText(err)
      results = commands.map((command) => ({ status: 'failure', error, result: null, namespace: null, call_id: command.call_id ?? null }))
    }
    if (signal.aborted) {
      log.info({ sessionId: message.session_id }, 'session ended; results not sent')
      return
    }
    this.#options.deliver(buildCommandResults({
      clientId,
      sessionId: message.session_id,
      prevResponseId: message.response_id ?? '',
      results
    }))
  }
}
