import { createError } from '@fastify/error'

/**
 * An option given to a constructor or to `start()` is missing, of the wrong type or out of range.
 * Thrown synchronously, once, when the options are parsed.
 */
export const InvalidOptionError = createError(
  'AIP_ERR_RESILIENCE_INVALID_OPTION',
  'Invalid option %s: expected %s, got %s',
  500,
  TypeError,
  false
)

/**
 * An argument given to a method (an attempt number, a client id, a per-call timeout) is out of range.
 */
export const InvalidArgumentError = createError(
  'AIP_ERR_RESILIENCE_INVALID_ARGUMENT',
  'Invalid argument %s: expected %s, got %s',
  500,
  TypeError,
  false
)

/**
 * The work was stopped through an `AbortSignal` (or by `dispose()`) before it finished.
 * `cause` holds the signal's reason.
 */
export const AbortedError = createError(
  'AIP_ERR_RESILIENCE_ABORTED',
  '%s was aborted',
  500
)

const TimeoutErrorBase = createError<'AIP_ERR_RESILIENCE_TIMEOUT', 408, [string, number]>(
  'AIP_ERR_RESILIENCE_TIMEOUT',
  '%s timed out after %d ms',
  408
)

/**
 * An operation run through {@link TimeoutManager} did not finish in time.
 * Carries the operation's name and the time it was given, and is `instanceof`-checkable.
 *
 * @example
 * ```ts
 * try { await timeouts.withTimeout(work, 5000, 'register') } catch (err) {
 *   if (err instanceof TimeoutError) log.warn({ operation: err.operation, timeoutMs: err.timeoutMs }, 'slow')
 * }
 * ```
 */
export class TimeoutError extends TimeoutErrorBase {
  /** Name of the operation that timed out. */
  readonly operation: string
  /** Time the operation was given, in milliseconds. */
  readonly timeoutMs: number

  /**
   * @param operation - name of the operation, used in the message
   * @param timeoutMs - time the operation was given, in milliseconds
   */
  constructor (operation: string, timeoutMs: number) {
    super(operation, timeoutMs)
    this.operation = operation
    this.timeoutMs = timeoutMs
  }
}
