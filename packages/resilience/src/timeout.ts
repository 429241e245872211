import { AbortedError, InvalidArgumentError, TimeoutError } from './errors.js'
import { checkMs, resolveTimeoutOptions } from './options.js'
import type { ResolvedTimeoutOptions, TimeoutManagerOptions } from './options.js'

/**
 * Work to run under a deadline: a promise, or (better) a function that receives an `AbortSignal` aborted
 * when the deadline passes, the caller aborts, or the manager is disposed, so it can stop what it does.
 */
export type TimedWork<T> = PromiseLike<T> | ((signal: AbortSignal) => T | PromiseLike<T>)

/**
 * Per-call options of {@link TimeoutManager.withTimeout}.
 */
export interface WithTimeoutOptions {
  /** Aborting it stops the work and rejects with `AIP_ERR_ABORTED`. */
  signal?: AbortSignal | undefined
}

/**
 * Runs asynchronous work under a deadline. The deadline and the caller's `AbortSignal` are combined into one
 * signal handed to the work, so work that timed out or was aborted is told to stop, not just forgotten.
 *
 * @example
 * ```ts
 * const timeouts = new TimeoutManager({ defaultTimeoutMs: 10_000 })
 * const res = await timeouts.withTimeout((signal) => fetch(url, { signal }), 5000, 'fetch device info')
 * ```
 */
export class TimeoutManager {
  /** The validated, frozen options. */
  readonly options: ResolvedTimeoutOptions
  readonly #pending = new Set<(err: Error) => void>()

  /**
   * @throws `AIP_ERR_INVALID_OPTION` when `defaultTimeoutMs` is not a number > 0
   */
  constructor (options?: TimeoutManagerOptions) {
    this.options = resolveTimeoutOptions(options)
  }

  /** Number of operations currently running under a deadline (each holds one timer). */
  get pendingCount (): number {
    return this.#pending.size
  }

  /**
   * Resolves with the work's result, or rejects with a {@link TimeoutError} (code `AIP_ERR_TIMEOUT`)
   * naming `operation` and the time if it takes longer than `timeoutMs`. The work's own errors pass through.
   *
   * @param work - a promise or a function of an `AbortSignal`
   * @param timeoutMs - the deadline in ms, > 0; default `defaultTimeoutMs`
   * @param operation - a name for errors and logs
   * @throws (rejects) `AIP_ERR_ABORTED` when `options.signal` aborts or the manager is disposed first
   * @throws (rejects) `AIP_ERR_INVALID_ARGUMENT` when `timeoutMs` is not a number > 0
   */
  async withTimeout<T> (work: TimedWork<T>, timeoutMs?: number, operation = 'operation', options: WithTimeoutOptions = {}): Promise<T> {
    const ms = checkMs('timeoutMs', timeoutMs ?? this.options.defaultTimeoutMs, true, InvalidArgumentError)
    const { signal } = options
    const { logger } = this.options
    if (signal?.aborted === true) throw new AbortedError(operation, signal.reason)
    logger.debug({ operation, timeoutMs: ms }, 'operation started')

    return await new Promise<T>((resolve, reject) => {
      const controller = new AbortController()
      let done = false
      const settle = (): boolean => {
        if (done) return false
        done = true
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        this.#pending.delete(fail)
        return true
      }
      const fail = (err: Error): void => {
        if (!settle()) return
        controller.abort(err)
        reject(err)
      }
      const onAbort = (): void => fail(new AbortedError(operation, signal?.reason))
      const timer = setTimeout(() => {
        logger.warn({ operation, timeoutMs: ms }, 'operation timed out')
        fail(new TimeoutError(operation, ms))
      }, ms)
      timer.unref()
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#pending.add(fail)

      let result: T | PromiseLike<T>
      try {
        result = typeof work === 'function' ? work(controller.signal) : work
      } catch (err) {
        settle()
        reject(err)
        return
      }
      Promise.resolve(result).then(
        (value) => {
          if (!settle()) return
          logger.debug({ operation }, 'operation completed')
          resolve(value)
        },
        (err: unknown) => {
          if (!settle()) return
          logger.debug({ err, operation }, 'operation failed')
          reject(err)
        }
      )
    })
  }

  /**
   * Like {@link TimeoutManager.withTimeout}, but resolves `undefined` instead of rejecting when the deadline
   * passes. Aborts and the work's own errors still reject.
   */
  async withTimeoutOrUndefined<T> (work: TimedWork<T>, timeoutMs?: number, operation = 'operation', options: WithTimeoutOptions = {}): Promise<T | undefined> {
    try {
      return await this.withTimeout(work, timeoutMs, operation, options)
    } catch (err) {
      if (err instanceof TimeoutError) return undefined
      throw err
    }
  }

  /**
   * Aborts every operation still running (they reject with `AIP_ERR_ABORTED`) and clears their
   * timers. The manager can still be used afterwards.
   */
  dispose (): void {
    for (const fail of [...this.#pending]) fail(new AbortedError('operation (timeout manager disposed)'))
  }
}
