import { AbortedError } from './errors.js'

/**
 * Options of {@link sleep}.
 */
export interface SleepOptions {
  /** Aborting it ends the sleep at once: the promise rejects and the timer is cleared. */
  signal?: AbortSignal | undefined
  /**
   * Whether the pending timer keeps the process alive. Default `true`: a sleep that waits for work to resume (a
   * reconnection backoff, a retry) must not let a program whose only job is to reconnect exit. Pass `false` for a
   * sleep that only measures or watches.
   */
  keepAlive?: boolean | undefined
}

/**
 * Resolves after `ms` milliseconds. The timer keeps the process alive unless `keepAlive` is false, and is cleared
 * when `signal` aborts, in which case the promise rejects with an `AIP_ERR_ABORTED` error whose `cause`
 * is the signal's reason.
 */
export function sleep (ms: number, options: SleepOptions = {}): Promise<void> {
  const { signal, keepAlive = true } = options
  if (signal?.aborted === true) {
    return Promise.reject(new AbortedError('sleep', signal.reason))
  }
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(new AbortedError('sleep', signal?.reason))
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    if (!keepAlive) timer.unref()
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
