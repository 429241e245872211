import type { ClusterClientRecord, ClientLossReason } from '@aip/device-server'
import type { RedisLeaseRegistry } from '../leases.js'
import type { Logger } from '../logger.js'
import type { Lease, LeaseCheck } from '../types.js'

/** A client lease the node holds, with the record stored as its data. */
export interface HeldLease {
  lease: Lease
  data: ClusterClientRecord
  /** When the lease was last acquired or renewed (`performance.now()` when the request went out). */
  renewedAt: number
}

/** What {@link LeaseKeeperSweep} needs. */
export interface LeaseKeeperSweepOptions {
  /** Time between two sweeps, in milliseconds. */
  everyMs: number
  /** Renews the node lease (first thing in every sweep). */
  renewNode: () => Promise<void>
  registry: RedisLeaseRegistry
  logger: Logger
  /** A client lease is no longer this node's (another node took it over). Called once per lease. */
  onLost: (clientId: string, reason: ClientLossReason) => void
}

/**
 * Renews the node lease and every client lease of the node in one sweep on one timer (not a timer per client), the
 * client leases in one script call per 500. A lease acquired or renewed less than half a sweep ago is left for the
 * next sweep (it has most of its time left): a burst of registrations costs no renewals. A lease found expired (Redis
 * restarted without its data, or the node was paused past the lease) is registered again when the id is still free;
 * one another node holds is reported lost. A sweep that cannot reach Redis is
 * retried at the next tick. The timer is `unref()`ed.
 */
export class LeaseKeeperSweep {
  readonly #options: LeaseKeeperSweepOptions
  readonly #held = new Map<string, HeldLease>()
  #timer: NodeJS.Timeout | null = null
  #running: Promise<void> | null = null
  #again = false
  #all = false
  #stopped = false

  constructor (options: LeaseKeeperSweepOptions) {
    this.#options = options
    this.#timer = setInterval(() => { this.now() }, options.everyMs)
    this.#timer.unref()
  }

  /** Keeps renewing `lease` (replacing any lease of the same client id). */
  keep (lease: Lease, data: ClusterClientRecord, acquiredAt = performance.now()): void {
    this.#held.set(lease.clientId, { lease, data, renewedAt: acquiredAt })
  }

  /** Stops renewing the lease of `clientId`; returns it (to release it), or `undefined`. */
  forget (clientId: string): Lease | undefined {
    const held = this.#held.get(clientId)
    this.#held.delete(clientId)
    return held?.lease
  }

  /** The lease held for `clientId`, with its data. */
  get (clientId: string): HeldLease | undefined {
    return this.#held.get(clientId)
  }

  /**
   * Sweeps now (or right after the sweep that runs). With `all`, every lease is renewed, however recently (Redis is
   * back, and may have lost them).
   */
  now (all = false): void {
    if (all) this.#all = true
    if (this.#stopped) return
    if (this.#running !== null) {
      this.#again = true
      return
    }
    this.#running = this.#sweep().finally(() => {
      this.#running = null
      if (this.#again) {
        this.#again = false
        this.now()
      }
    })
  }

  /** Stops the timer; returns the leases still held (to release them). */
  stop (): Lease[] {
    this.#stopped = true
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
    const leases = [...this.#held.values()].map((held) => held.lease)
    this.#held.clear()
    return leases
  }

  async #sweep (): Promise<void> {
    const { registry, logger } = this.#options
    try {
      await this.#options.renewNode()
    } catch (err) {
      logger.debug({ err }, 'cluster: node lease not renewed; retried at the next sweep')
      return
    }
    const started = performance.now()
    const all = this.#all
    this.#all = false
    const due = [...this.#held.values()].filter((held) => all || started - held.renewedAt >= this.#options.everyMs / 2)
    if (due.length === 0) return
    let checks
    try {
      checks = await registry.renewMany(due.map((held) => held.lease))
    } catch (err) {
      logger.debug({ err }, 'cluster: client leases not renewed; retried at the next sweep')
      if (all) this.#all = true
      return
    }
    await Promise.all(due.map(async (held, i) => {
      const check = checks[i] as LeaseCheck
      if (this.#held.get(held.lease.clientId) !== held) return
      if (check.held) {
        held.renewedAt = started
        return
      }
      try {
        if (check.reason === 'expired') {
          const again = await registry.register(held.lease.clientId, { nodeId: held.lease.nodeId, mode: 'if-absent', data: held.data })
          if (this.#held.get(held.lease.clientId) !== held) return
          if (again.acquired) {
            held.lease = again.lease
            held.renewedAt = started
            logger.warn({ clientId: held.lease.clientId }, 'cluster: a client lease had expired; claimed again')
            return
          }
        }
        this.#held.delete(held.lease.clientId)
        this.#options.onLost(held.lease.clientId, 'fenced')
      } catch (err) {
        logger.debug({ err, clientId: held.lease.clientId }, 'cluster: client lease not claimed again; retried at the next sweep')
      }
    }))
  }
}
