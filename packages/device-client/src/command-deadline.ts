import { TIMEOUT_KEY, type Result } from '@aip/protocol'
import { MAX_TIMER_MS } from '@aip/resilience'
import { CommandTimeoutError } from './errors.js'

/** The outcome of {@link runWithDeadline}: the executor's Results, or the deadline's error text. */
export type DeadlineOutcome =
  | { readonly timedOut: false, readonly results: Result[] }
  | { readonly timedOut: true, readonly error: string }

/**
 * The deadline of a COMMAND (its extension field `aip_timeout_ms`, sent only to a device granted `deadline`): a
 * positive integer number of ms (at most the longest timer), or `null` when absent or not one.
 */
export function commandDeadlineMs (extra: Readonly<Record<string, unknown>> | null | undefined): number | null {
  const value = extra?.[TIMEOUT_KEY]
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) return null
  return Math.min(value, MAX_TIMER_MS)
}

/**
 * Runs `execute` with a signal that aborts when `session` aborts or, with a `timeoutMs`, when it passes. At the
 * deadline the signal aborts with an `AIP_ERR_DEVICE_COMMAND_TIMEOUT` and the outcome is `timedOut` at once,
 * without waiting for an executor that does not honour its signal (its late Results are ignored).
 */
export async function runWithDeadline (
  timeoutMs: number | null, session: AbortSignal, execute: (signal: AbortSignal) => Promise<Result[]>
): Promise<DeadlineOutcome> {
  if (timeoutMs === null) return { timedOut: false, results: await execute(session) }
  const controller = new AbortController()
  const onSessionAbort = (): void => controller.abort(session.reason)
  if (session.aborted) controller.abort(session.reason)
  else session.addEventListener('abort', onSessionAbort, { once: true })
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<DeadlineOutcome>((resolve) => {
    timer = setTimeout(() => {
      const error = new CommandTimeoutError(timeoutMs)
      controller.abort(error)
      resolve({ timedOut: true, error: error.message })
    }, timeoutMs)
  })
  const run = execute(controller.signal).then((results): DeadlineOutcome => ({ timedOut: false, results }))
  // A run that rejects after its deadline has nobody to tell.
  run.catch(() => {})
  try {
    return await Promise.race([run, deadline])
  } finally {
    clearTimeout(timer)
    session.removeEventListener('abort', onSessionAbort)
  }
}
