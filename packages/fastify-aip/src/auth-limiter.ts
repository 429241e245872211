import type { Logger } from '@aip/endpoint'
import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify'
import { AuthRateLimitedError } from './errors.js'
import type { ResolvedAuthFailureLimit } from './options.js'

/** The failures of one address in its current window. */
interface FailureWindow {
  /** When the window's first failure happened (the clock's milliseconds). */
  readonly start: number
  failures: number
  /** Whether this window's first refusal was logged. */
  warned: boolean
}

/**
 * Counts failed authentications per client address in a fixed window. Once an address has failed
 * `maxFailures` times within `windowMs` of its first failure, every further attempt from it is refused until the
 * window ends, whatever credential it carries: a success neither resets the count nor ends the window, so the
 * limiter never tells a guesser which guess was right.
 *
 * Memory is bounded: only addresses that failed are tracked, at most `maxTrackedAddresses` of them; past that, the
 * oldest window is dropped first (expired ones go before any live one). No timer is held: windows expire when
 * they are next looked at.
 */
export class AuthFailureLimiter {
  readonly #maxFailures: number
  readonly #windowMs: number
  readonly #maxTracked: number
  readonly #now: () => number
  readonly #log: Logger
  /** Insertion order is the order of window starts (a window that ends and starts again is re-inserted). */
  readonly #windows = new Map<string, FailureWindow>()

  constructor (options: ResolvedAuthFailureLimit, log: Logger) {
    this.#maxFailures = options.maxFailures
    this.#windowMs = options.windowMs
    this.#maxTracked = options.maxTrackedAddresses
    this.#now = options.now
    this.#log = log
  }

  /** Addresses tracked now (those that failed in a window not yet found expired). */
  get trackedAddresses (): number {
    return this.#windows.size
  }

  /**
   * Whole seconds `address` must wait before it may try again, or `null` when it may try now. The first refusal of
   * each window is logged as a warning (address, failures, window), later ones are not.
   */
  retryAfter (address: string): number | null {
    const now = this.#now()
    const window = this.#current(address, now)
    if (window === undefined || window.failures < this.#maxFailures) return null
    const seconds = Math.max(1, Math.ceil((window.start + this.#windowMs - now) / 1000))
    if (!window.warned) {
      window.warned = true
      this.#log.warn(
        { remoteAddress: address, failures: window.failures, windowMs: this.#windowMs, retryAfterSeconds: seconds },
        'too many failed authentications: address refused until its window ends'
      )
    }
    return seconds
  }

  /** Counts a failed authentication of `address`. */
  fail (address: string): void {
    const now = this.#now()
    const window = this.#current(address, now)
    if (window !== undefined) {
      window.failures++
      return
    }
    this.#evict(now)
    this.#windows.set(address, { start: now, failures: 1, warned: false })
  }

  /** Forgets every address. */
  clear (): void {
    this.#windows.clear()
  }

  /** The live window of `address`, after dropping an expired one. */
  #current (address: string, now: number): FailureWindow | undefined {
    const window = this.#windows.get(address)
    if (window === undefined) return undefined
    if (this.#expired(window, now)) {
      this.#windows.delete(address)
      return undefined
    }
    return window
  }

  #expired (window: FailureWindow, now: number): boolean {
    // A clock that went backwards ends the window too, rather than stretching it.
    return now - window.start >= this.#windowMs || now < window.start
  }

  /**
   * Drops the expired windows, which come first (the oldest start first), then, while the map is full, the oldest
   * live ones: room for one more address.
   */
  #evict (now: number): void {
    for (const [address, window] of this.#windows) {
      if (!this.#expired(window, now) && this.#windows.size < this.#maxTracked) break
      this.#windows.delete(address)
    }
  }
}

/**
 * When the request's address (`request.ip`: Fastify's `trustProxy` decides what it is) is refused by `limiter`,
 * sets `Retry-After` and `Connection: close` on `reply` and returns the 429 error to answer with; `null` otherwise
 * (and always when there is no limiter).
 */
export function refuseLimited (limiter: AuthFailureLimiter | null, request: FastifyRequest, reply: FastifyReply): InstanceType<typeof AuthRateLimitedError> | null {
  // While no address has failed lately nothing is looked up: `request.ip` would ask the kernel for the address.
  if (limiter === null || limiter.trackedAddresses === 0) return null
  const seconds = limiter.retryAfter(request.ip)
  if (seconds === null) return null
  reply.header('retry-after', String(seconds)).header('connection', 'close')
  return new AuthRateLimitedError(seconds)
}

/** An `onRequest` hook that answers 429 (see {@link refuseLimited}) to an address `limiter` refuses, before the body is read. */
export function limitedGuard (limiter: AuthFailureLimiter | null): onRequestHookHandler {
  return function limitedAddress (request, reply, done) {
    done(refuseLimited(limiter, request, reply) ?? undefined)
  }
}
