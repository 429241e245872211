import {
  buildCommandResults, isTaskAck, isTaskEnd, type ClientMessage, type Command, type DecodedServerMessage, type Result
} from '@aip/protocol'
import { AbortedError, TimeoutError, type Logger, type Unsubscribe } from '@aip/resilience'
import { RequestRefusedError, TransportClosedError } from '../errors.js'
import { timeoutArgument } from '../options.js'
import type { AIPProtocol } from '../protocol/index.js'

/** Options of {@link runTask}. */
export interface RunTaskOptions {
  /** Deadline for the ack. Default 30000 ms. */
  ackTimeoutMs?: number
  /** Deadline for the TASK_END, counted from the send. Default: none. */
  timeoutMs?: number
  signal?: AbortSignal
  /** Called with the ack (HEARTBEAT `ok` with the task's `session_id`). */
  onAck?: (ack: DecodedServerMessage) => void
}

/**
 * The requester side of a task: sends the TASK, waits for its ack (HEARTBEAT `ok` with a `session_id`: the TASK's
 * own, or the one the server chose when the TASK had none), then for the TASK_END of that session, and resolves
 * with it (`completed` or `failed`: read `status`). The listener is in place before the TASK is sent, so neither
 * answer can be missed. An ERROR before the ack (with the TASK's `session_id`, or with none, as the reference
 * sends them) rejects with `AIP_ERR_ENDPOINT_REQUEST_REFUSED`; deadlines reject with `AIP_ERR_TIMEOUT`.
 */
export function runTask (protocol: AIPProtocol<'client'>, task: ClientMessage, options: RunTaskOptions = {}): Promise<DecodedServerMessage> {
  let ackTimeoutMs: number | undefined
  let timeoutMs: number | undefined
  try {
    ackTimeoutMs = timeoutArgument('ackTimeoutMs', options.ackTimeoutMs) ?? 30_000
    timeoutMs = timeoutArgument('timeoutMs', options.timeoutMs)
  } catch (err) {
    return Promise.reject(err)
  }
  const { signal } = options
  if (signal?.aborted === true) return Promise.reject(new AbortedError('task', signal.reason))
  const wanted = task.session_id ?? null
  return new Promise((resolve, reject) => {
    let sessionId: string | null = null
    const timers: NodeJS.Timeout[] = []
    const subscriptions: Unsubscribe[] = []
    const finish = (settle: () => void): void => {
      for (const timer of timers) clearTimeout(timer)
      for (const unsubscribe of subscriptions) unsubscribe()
      signal?.removeEventListener('abort', onAbort)
      subscriptions.length = 0
      settle()
    }
    const fail = (error: unknown): void => finish(() => reject(error))
    const onAbort = (): void => fail(new AbortedError('task', signal?.reason))
    const arm = (ms: number, operation: string): void => {
      const timer = setTimeout(() => fail(new TimeoutError(operation, ms)), ms)
      timer.unref()
      timers.push(timer)
    }
    subscriptions.push(protocol.onAnyMessage((message) => {
      if (sessionId === null) {
        const acked = wanted === null
          ? message.type === 'heartbeat' && message.status === 'ok' && message.session_id !== null
          : isTaskAck(message, wanted)
        if (acked) {
          sessionId = message.session_id
          clearTimeout(timers[0])
          options.onAck?.(message)
          return
        }
        if (message.type === 'error' && (message.session_id === null || message.session_id === wanted)) {
          fail(new RequestRefusedError('task', message.error ?? 'unknown error', message))
          return
        }
      }
      const current = sessionId ?? wanted
      if (current !== null && isTaskEnd(message, current)) finish(() => resolve(message))
    }))
    subscriptions.push(protocol.on('close', () => fail(new TransportClosedError())))
    signal?.addEventListener('abort', onAbort, { once: true })
    arm(ackTimeoutMs, 'task ack')
    if (timeoutMs !== undefined) arm(timeoutMs, 'task')
    protocol.send(task).catch(fail)
  })
}

/** Runs the commands of one COMMAND; resolves with one Result per Command, in order. */
export type CommandExecutor = (commands: readonly Command[], context: {
  readonly message: DecodedServerMessage
  /** Aborted when the session ends (TASK_END), the connection closes, or the answerer stops. */
  readonly signal: AbortSignal
}) => Promise<readonly Result[]> | readonly Result[]

/** Options of {@link answerCommands}. */
export interface AnswerCommandsOptions {
  /** The registered client id of the device. */
  clientId: string
  execute: CommandExecutor
  logger?: Logger
}

/**
 * The device side of task execution: answers every COMMAND with COMMAND_RESULTS (`prev_response_id` = the
 * COMMAND's `response_id`, each Result echoing its Command's `call_id`). Commands run outside the frame loop, so
 * heartbeats are still answered meanwhile. If `execute` throws, every Command gets a `failure` Result: the server
 * is never left waiting (reference bug B10). A TASK_END aborts the commands of its session. Returns the stopper.
 */
export function answerCommands (protocol: AIPProtocol<'client'>, options: AnswerCommandsOptions): Unsubscribe {
  const running = new Map<AbortController, string | null>()
  const runOne = async (message: DecodedServerMessage): Promise<void> => {
    const commands = message.actions ?? []
    const controller = new AbortController()
    running.set(controller, message.session_id)
    let results: readonly Result[]
    try {
      results = await options.execute(commands, { message, signal: controller.signal })
    } catch (err) {
      options.logger?.warn({ err, sessionId: message.session_id }, 'command execution failed')
      const text = err instanceof Error ? err.message : String(err)
      results = commands.map((command) => ({ status: 'failure', error: text, call_id: command.call_id ?? null }))
    } finally {
      running.delete(controller)
    }
    if (controller.signal.aborted || !protocol.isOpen) return
    await protocol.send(buildCommandResults({
      clientId: options.clientId,
      sessionId: message.session_id,
      prevResponseId: message.response_id ?? '',
      results
    }))
  }
  const abort = (sessionId?: string | null): void => {
    for (const [controller, session] of running) {
      if (sessionId === undefined || session === sessionId) controller.abort()
    }
  }
  const subscriptions = [
    protocol.onMessage('command', (message) => {
      runOne(message).catch((err: unknown) => options.logger?.warn({ err, sessionId: message.session_id }, 'command results not sent'))
    }),
    protocol.onMessage('task_end', (message) => { abort(message.session_id) }),
    protocol.on('close', () => abort())
  ]
  return () => {
    for (const unsubscribe of subscriptions) unsubscribe()
    abort()
  }
}
