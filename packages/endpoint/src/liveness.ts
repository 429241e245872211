import { FunctionOption, Milliseconds, resolveOptions } from '@aip/resilience'
import { Type } from '@sinclair/typebox'

/** The schema of {@link LivenessOptions}. */
const LivenessOptionsSchema = Type.Object({
  intervalMs: Milliseconds({ min: 1 }),
  deadAfterMs: Type.Optional(Milliseconds({ min: 1 })),
  onTick: Type.Optional(FunctionOption<() => void>()),
  onDead: Type.Optional(FunctionOption<(silentForMs: number) => void>()),
  now: FunctionOption<() => number>({ default: () => performance.now() }),
  unref: Type.Boolean({ default: true })
})

/** Options of {@link Liveness}. */
export interface LivenessOptions {
  /** Time between two ticks (a ping, a heartbeat), in ms, >= 1. */
  intervalMs: number
  /** Silence (no `touch()`) after which the peer is declared dead, in ms. Default: never. */
  deadAfterMs?: number | undefined
  /** Called every `intervalMs` while the peer is alive: send a ping or a heartbeat here. */
  onTick?: (() => void) | undefined
  /** Called once when the peer has been silent for `deadAfterMs`; the liveness is then stopped. */
  onDead?: ((silentForMs: number) => void) | undefined
  /** Monotonic clock in ms. Default `performance.now()` (a fake clock replaces it in tests). */
  now?: (() => number) | undefined
  /** Let the process exit while only this timer is pending. Default true. */
  unref?: boolean | undefined
}

/**
 * One re-armed timer that keeps a connection honest: it ticks every `intervalMs` (`onTick`: send a ping or a
 * heartbeat) and declares the peer dead (`onDead`, once) when nothing was heard from it for `deadAfterMs`.
 * Call `touch()` whenever the peer shows a sign of life (a frame, a pong): it only records the time, so it
 * costs nothing per frame. A single timer is pending at any time, unref'd by default; `stop()` clears it.
 *
 * Every endpoint uses it: the server's pings and registration-free peer detection, the clients' heartbeats and
 * dead-server detection.
 *
 * @example
 * ```ts
 * const liveness = new Liveness({
 *   intervalMs: 20_000, deadAfterMs: 60_000,
 *   onTick: () => transport.ping(),
 *   onDead: () => transport.terminate()
 * })
 * transport.on('pong', () => liveness.touch())
 * transport.on('close', () => liveness.stop())
 * ```
 */
export class Liveness {
  readonly #intervalMs: number
  readonly #deadAfterMs: number | undefined
  readonly #onTick: (() => void) | undefined
  readonly #onDead: ((silentForMs: number) => void) | undefined
  readonly #now: () => number
  readonly #unref: boolean
  #lastSeen: number
  #nextTick: number
  #timer: NodeJS.Timeout | undefined

  /**
   * Starts the timer at once; the peer counts as seen now.
   * @throws `AIP_ERR_INVALID_OPTION` on a bad option
   */
  constructor (options: LivenessOptions) {
    const o = resolveOptions(LivenessOptionsSchema, options, 'liveness')
    this.#intervalMs = o.intervalMs
    this.#deadAfterMs = o.deadAfterMs
    this.#onTick = o.onTick
    this.#onDead = o.onDead
    this.#now = o.now
    this.#unref = o.unref
    this.#lastSeen = this.#now()
    this.#nextTick = this.#lastSeen + this.#intervalMs
    this.#arm(this.#lastSeen)
  }

  /** True until `stop()` or until the peer was declared dead. */
  get running (): boolean {
    return this.#timer !== undefined
  }

  /** Time since the peer was last seen, in ms. */
  get silentForMs (): number {
    return this.#now() - this.#lastSeen
  }

  /** Records a sign of life of the peer. Cheap: no timer is touched. */
  touch (): void {
    this.#lastSeen = this.#now()
  }

  /** Stops the timer; no callback runs afterwards. Idempotent. */
  stop (): void {
    if (this.#timer === undefined) return
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #arm (now: number): void {
    let at = this.#nextTick
    if (this.#deadAfterMs !== undefined) at = Math.min(at, this.#lastSeen + this.#deadAfterMs)
    const timer = setTimeout(this.#fire, Math.max(0, at - now))
    if (this.#unref) timer.unref()
    this.#timer = timer
  }

  readonly #fire = (): void => {
    if (this.#timer === undefined) return
    const now = this.#now()
    const silent = now - this.#lastSeen
    if (this.#deadAfterMs !== undefined && silent >= this.#deadAfterMs) {
      this.#timer = undefined
      this.#onDead?.(silent)
      return
    }
    if (now >= this.#nextTick) {
      this.#nextTick = now + this.#intervalMs
      this.#onTick?.()
      // onTick may have stopped us.
      if (this.#timer === undefined) return
    }
    this.#arm(now)
  }
}
