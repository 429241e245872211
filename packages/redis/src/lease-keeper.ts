import { InvalidOptionError } from './errors.js'
import type { LeaseLossReason } from './errors.js'
import { describe, optionMs } from './keys.js'
import type { Lease, LeaseRegistry } from './types.js'

/** Options of {@link LeaseKeeper}. */
export interface LeaseKeeperOptions {
  /** Time between two renewals, in milliseconds; less than the lease. Default a third of `lease.leaseMs`. */
  renewEveryMs?: number
  /** Called once when the lease is lost (taken over or expired); the keeper has stopped by then. */
  onLost?: (reason: LeaseLossReason) => void
  /** Called after each renewal that held. */
  onRenewed?: () => void
  /** Called when a renewal could not be made (Redis unavailable); the keeper tries again at the next tick. */
  onError?: (err: unknown) => void
}

/**
 * Keeps one lease alive: renews it every `renewEveryMs` until `stop()`, or until a renewal answers that the lease
 * is lost, which it reports once through `onLost`. A renewal that fails because Redis is away is reported through
 * `onError` and retried at the next tick; if the lease ran out meanwhile, the next renewal reports it lost
 * (`expired`). The timer is `unref()`ed; `stop()` does not release the lease (call the registry's `release`).
 *
 * @example
 * ```ts
 * const keeper = new LeaseKeeper(leases, outcome.lease, { onLost: (reason) => socket.close(4000, reason) })
 * // ... when the client disconnects:
 * keeper.stop()
 * await leases.release(outcome.lease)
 * ```
 */
export class LeaseKeeper {
  readonly #registry: LeaseRegistry
  readonly #lease: Lease
  readonly #renewEveryMs: number
  readonly #options: LeaseKeeperOptions
  #timer: NodeJS.Timeout | undefined
  #stopped = false
  #renewals = 0

  /**
   * Starts renewing at once on the timer.
   * @throws InvalidOptionError when `renewEveryMs` is not below the lease's length
   */
  constructor (registry: LeaseRegistry, lease: Lease, options: LeaseKeeperOptions = {}) {
    this.#registry = registry
    this.#lease = lease
    this.#options = options
    this.#renewEveryMs = optionMs('renewEveryMs', options.renewEveryMs, Math.max(1, Math.floor(lease.leaseMs / 3)))
    if (this.#renewEveryMs >= lease.leaseMs) {
      throw new InvalidOptionError('renewEveryMs', `less than the lease (${lease.leaseMs} ms)`, describe(this.#renewEveryMs))
    }
    this.#schedule()
  }

  /** The lease kept. */
  get lease (): Lease {
    return this.#lease
  }

  /** Whether the keeper has stopped (by `stop()` or because the lease was lost). */
  get stopped (): boolean {
    return this.#stopped
  }

  /** Renewals that held so far. */
  get renewals (): number {
    return this.#renewals
  }

  /** Stops renewing. Idempotent. */
  stop (): void {
    this.#stopped = true
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #schedule (): void {
    if (this.#stopped) return
    this.#timer = setTimeout(() => { this.#tick().catch(() => {}) }, this.#renewEveryMs)
    this.#timer.unref()
  }

  async #tick (): Promise<void> {
    try {
      const check = await this.#registry.renew(this.#lease)
      if (this.#stopped) return
      if (check.held) {
        this.#renewals++
        this.#options.onRenewed?.()
      } else {
        this.stop()
        this.#options.onLost?.(check.reason)
        return
      }
    } catch (err) {
      if (this.#stopped) return
      this.#options.onError?.(err)
    }
    this.#schedule()
  }
}
