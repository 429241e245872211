import { AbortedError } from './errors.js'

/**
 * Options of {@link sleep}.
 */
export interface SleepOptions {
  /** Aborting it ends the sleep at once: the promise rejects and the timer is cleared. */
  signal?: AbortSignal | undefined
}

/**
 * Resolves after `ms` milliseconds. The timer is `unref()`ed (a sleeping process can still exit) and cleared
 * when `signal` aborts, in which case the promise rejects with an `AIP_ERR_RESILIENCE_ABORTED` error whose
 * `cause` is the signal's reason.
 */
export function sleep (ms: number, options: SleepOptions = {}): Promise<void> {
  const { signal } = options
  if (signal?.aborted === true) {
    return Promise.reject(new AbortedError('sleep', { cause: signal.reason }))
  }
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(new AbortedError('sleep', { cause: signal?.reason }))
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    timer.unref()
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
