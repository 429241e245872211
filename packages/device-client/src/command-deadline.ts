import { TIMEOUT_KEY, type Result } from '@aip/protocol'
import { MAX_TIMER_MS } from '@aip/resilience'
import { CommandTimeoutError } from './errors.js'

/** A COMMAND's deadline: its `aip_timeout_ms`, and when it passes (`performance.now()` ms). */
export interface CommandDeadline {
  readonly timeoutMs: number
  readonly at: number
}

/** The outcome of {@link runWithDeadline}: the executor's Results, or the deadline's error text. */
export type DeadlineOutcome =
  | { readonly timedOut: false, readonly results: Result[] }
  | { readonly timedOut: true, readonly error: string }

/**
 * The deadline of a COMMAND arriving now, from its extension field `aip_timeout_ms` (sent only to a device
 * granted `deadline`): a positive integer number of ms (at most the longest timer), or `null` when absent or not
 * one.
 */
export function commandDeadline (extra: Readonly<Record<string, unknown>> | null | undefined): CommandDeadline | null {
  const value = extra?.[TIMEOUT_KEY]
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) return null
  const timeoutMs = Math.min(value, MAX_TIMER_MS)
  return { timeoutMs, at: performance.now() + timeoutMs }
}

/**
 * Runs `execute` with a signal that aborts when `session` aborts or, with a deadline, when it passes. At the
 * deadline the signal aborts with an `AIP_ERR_DEVICE_COMMAND_TIMEOUT` and the outcome is `timedOut` at once,
 * without waiting for an executor that does not honour its signal (its late Results are ignored). A deadline
 * that passed already (the COMMAND waited behind others) times out without calling `execute`.
 */
export async function runWithDeadline (
  deadline: CommandDeadline | null, session: AbortSignal, execute: (signal: AbortSignal) => Promise<Result[]>
): Promise<DeadlineOutcome> {
  if (deadline === null) return { timedOut: false, results: await execute(session) }
  const error = new CommandTimeoutError(deadline.timeoutMs)
  const remainingMs = Math.ceil(deadline.at - performance.now())
  if (remainingMs <= 0) return { timedOut: true, error: error.message }
  const controller = new AbortController()
  const onSessionAbort = (): void => controller.abort(session.reason)
  if (session.aborted) controller.abort(session.reason)
  else session.addEventListener('abort', onSessionAbort, { once: true })
  let timer: NodeJS.Timeout | undefined
  const passed = new Promise<DeadlineOutcome>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(error)
      resolve({ timedOut: true, error: error.message })
    }, remainingMs)
  })
  const run = execute(controller.signal).then((results): DeadlineOutcome => ({ timedOut: false, results }))
  // A run that rejects after its deadline has nobody to tell.
  run.catch(() => {})
  try {
    return await Promise.race([run, passed])
  } finally {
    clearTimeout(timer)
    session.removeEventListener('abort', onSessionAbort)
  }
}
