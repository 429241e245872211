import { AbortedError, TimeoutError } from '@aip/resilience'
import { TransportClosedError } from '../errors.js'
import { timeoutArgument } from '../options.js'

/** What a waiter waits for: a message, a binary payload, or a file. */
export type WaiterKind = 'message' | 'binary' | 'file'

/** Options of one wait. */
export interface WaitOptions {
  readonly timeoutMs?: number | undefined
  readonly signal?: AbortSignal | undefined
}

interface Waiter {
  readonly kind: WaiterKind
  readonly transferId: string | undefined
  readonly match: (payload: unknown) => boolean
  readonly resolve: (payload: unknown) => void
  readonly reject: (error: unknown) => void
}

/**
 * The correlation waiters of one protocol: each is registered before the caller can send its request, and is
 * raced against its timeout, its `AbortSignal` and the close of the connection; whichever comes first settles it
 * and removes it, with its timer and its abort listener.
 */
export class Waiters {
  readonly #waiters = new Set<Waiter>()

  /** Number of pending waiters. */
  get size (): number {
    return this.#waiters.size
  }

  /**
   * Registers a waiter for the next `kind` payload that `match`es. Rejects with `AIP_ERR_INVALID_ARGUMENT` (a
   * bad timeout), `AIP_ERR_ABORTED`, `AIP_ERR_TIMEOUT`, or `AIP_ERR_ENDPOINT_TRANSPORT_CLOSED` (when `closed`,
   * or at `rejectAll`).
   */
  wait (
    kind: WaiterKind, transferId: string | undefined, options: WaitOptions, operation: string,
    match: (payload: unknown) => boolean, closed: boolean
  ): Promise<unknown> {
    let timeoutMs: number | undefined
    try {
      timeoutMs = timeoutArgument('timeoutMs', options.timeoutMs)
    } catch (err) {
      return Promise.reject(err)
    }
    const { signal } = options
    if (signal?.aborted === true) return Promise.reject(new AbortedError(operation, signal.reason))
    if (closed) return Promise.reject(new TransportClosedError())
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined
      const onAbort = (): void => { settle(() => reject(new AbortedError(operation, signal?.reason))) }
      const settle = (finish: () => void): void => {
        if (!this.#waiters.delete(waiter)) return
        if (timer !== undefined) clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        finish()
      }
      const waiter: Waiter = {
        kind,
        transferId,
        match,
        resolve: (payload) => settle(() => resolve(payload)),
        reject: (error) => settle(() => reject(error))
      }
      this.#waiters.add(waiter)
      signal?.addEventListener('abort', onAbort, { once: true })
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => waiter.reject(new TimeoutError(operation, timeoutMs)), timeoutMs)
        timer.unref()
      }
    })
  }

  /** Resolves every waiter of `kind` that matches `payload`. */
  deliver (kind: WaiterKind, payload: unknown): void {
    if (this.#waiters.size === 0) return
    for (const waiter of [...this.#waiters]) {
      if (waiter.kind === kind && waiter.match(payload)) waiter.resolve(payload)
    }
  }

  /** Rejects the binary and file waiters of a failed transfer (`transferId` null: of any transfer). */
  failTransfer (transferId: string | null, error: unknown): void {
    for (const waiter of [...this.#waiters]) {
      if (waiter.kind === 'message') continue
      if (waiter.transferId === undefined || waiter.transferId === transferId) waiter.reject(error)
    }
  }

  /** Rejects every waiter with `error` (the connection closed). */
  rejectAll (error: () => unknown): void {
    for (const waiter of [...this.#waiters]) waiter.reject(error())
  }
}
