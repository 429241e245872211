import { createError } from '@fastify/error'

/**
 * The error family shared by every AIP package: a timeout, an abort, a bad option and a bad argument surface
 * under one code each, whichever package raised them. Each error carries structured fields; read them (or
 * `code`), never the message text. Package-specific codes (`AIP_ERR_<PACKAGE>_<WHAT>`) remain only for what
 * is specific to a package.
 */

/** Extra structured facts attached to a {@link TimeoutError} (for example the `sessionId` of a task). */
export interface TimeoutDetails {
  /** The session the operation belonged to, when it had one. */
  readonly sessionId?: string | undefined
  /** The error that was pending when the deadline fired (it becomes the error's `cause`). */
  readonly cause?: unknown
  /** Any other structured fact, copied onto the error as a read-only field. */
  readonly [key: string]: unknown
}

const TimeoutErrorBase = createError<'AIP_ERR_TIMEOUT', 408, [string, number]>(
  'AIP_ERR_TIMEOUT', '%s timed out after %d ms', 408, Error, false
)

/**
 * An operation did not finish in the time it was given (code `AIP_ERR_TIMEOUT`, status 408).
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
  /** The session the operation belonged to, when the raiser named one in `details`. */
  readonly sessionId: string | undefined

  /**
   * @param operation - name of the operation, used in the message
   * @param timeoutMs - time the operation was given, in milliseconds
   * @param details - more structured facts (`sessionId`, `cause`, ...), each copied as a read-only field
   */
  constructor (operation: string, timeoutMs: number, details?: TimeoutDetails) {
    super(operation, timeoutMs)
    this.name = 'TimeoutError'
    this.operation = operation
    this.timeoutMs = timeoutMs
    this.sessionId = details?.sessionId
    if (details !== undefined) copyDetails(this, details, ['operation', 'timeoutMs', 'sessionId'])
  }
}

const AbortedErrorBase = createError<'AIP_ERR_ABORTED', 500, [string]>('AIP_ERR_ABORTED', '%s was aborted', 500, Error, false)

/**
 * The work was stopped through an `AbortSignal` (or by `dispose()` / `stop()`) before it finished (code
 * `AIP_ERR_ABORTED`). `reason` (and `cause`) hold the signal's reason.
 *
 * @example
 * ```ts
 * if (signal.aborted) throw new AbortedError('device info request', signal.reason)
 * ```
 */
export class AbortedError extends AbortedErrorBase {
  /** Name of the operation that was aborted. */
  readonly operation: string
  /** The signal's reason (`signal.reason`), or what the caller gave; also the error's `cause`. */
  readonly reason: unknown

  /**
   * @param operation - name of the operation, used in the message
   * @param reason - the signal's reason. The older form `{ cause: reason }` is still accepted.
   */
  constructor (operation: string, reason?: unknown) {
    super(operation)
    this.name = 'AbortedError'
    const actual = isCauseWrapper(reason) ? reason.cause : reason
    this.operation = operation
    this.reason = actual
    if (actual !== undefined) this.cause = actual
  }
}

const InvalidOptionErrorBase = createError<'AIP_ERR_INVALID_OPTION', 500, [string, string, string]>(
  'AIP_ERR_INVALID_OPTION', 'Invalid option %s: expected %s, got %s', 500, TypeError, false
)

/**
 * An option given to a constructor (or to `start()`) is missing, of the wrong type or out of range (code
 * `AIP_ERR_INVALID_OPTION`). Thrown synchronously, once, when the options are resolved.
 *
 * @example
 * ```ts
 * try { new ReconnectionStrategy({ maxRetries: -1 }) } catch (err) {
 *   if (err instanceof InvalidOptionError) console.error(err.option, err.expected, err.received)
 * }
 * ```
 */
export class InvalidOptionError extends InvalidOptionErrorBase {
  /** Dotted path of the option (`reconnection.maxRetries`). */
  readonly option: string
  /** What the option must be, in words. */
  readonly expected: string
  /** A short description of the value given. */
  readonly received: string

  /**
   * @param option - dotted path of the option
   * @param expected - what the option must be, in words
   * @param received - a short description of the value given
   * @param options - `cause`: the error that made the value invalid, if any
   */
  constructor (option: string, expected: string, received: string, options?: { cause?: unknown }) {
    super(option, expected, received)
    this.name = 'InvalidOptionError'
    this.option = option
    this.expected = expected
    this.received = received
    if (options?.cause !== undefined) this.cause = options.cause
  }
}

const InvalidArgumentErrorBase = createError<'AIP_ERR_INVALID_ARGUMENT', 500, [string]>(
  'AIP_ERR_INVALID_ARGUMENT', '%s', 500, TypeError, false
)

/**
 * An argument given to a method is missing, of the wrong type or out of range (code
 * `AIP_ERR_INVALID_ARGUMENT`): a negative per-call timeout, a connection key that is needed and missing, ...
 *
 * @example
 * ```ts
 * throw new InvalidArgumentError('timeoutMs', 'an integer number of ms from 1 to 2147483647', String(value))
 * ```
 */
export class InvalidArgumentError extends InvalidArgumentErrorBase {
  /** Name of the argument (a dotted path for a field of an argument). */
  readonly argument: string
  /** What the argument must be, in words. */
  readonly expected: string
  /** A short description of the value given (empty when not described). */
  readonly received: string

  /**
   * @param argument - name of the argument
   * @param expected - what the argument must be, in words
   * @param received - a short description of the value given
   * @param options - `cause`: the error that made the value invalid, if any
   */
  constructor (argument: string, expected: string, received = '', options?: { cause?: unknown }) {
    super(received === '' ? `Invalid argument ${argument}: ${expected}` : `Invalid argument ${argument}: expected ${expected}, got ${received}`)
    this.name = 'InvalidArgumentError'
    this.argument = argument
    this.expected = expected
    this.received = received
    if (options?.cause !== undefined) this.cause = options.cause
  }
}

function isCauseWrapper (value: unknown): value is { cause: unknown } {
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype) return false
  const keys = Object.keys(value)
  return keys.length === 1 && keys[0] === 'cause'
}

function copyDetails (target: Error, details: TimeoutDetails, reserved: readonly string[]): void {
  for (const key of Object.keys(details)) {
    if (reserved.includes(key)) continue
    const value = details[key]
    if (key === 'cause') {
      if (value !== undefined) target.cause = value
      continue
    }
    Object.defineProperty(target, key, { value, enumerable: true, writable: false, configurable: false })
  }
}
