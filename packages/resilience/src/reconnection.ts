import { computeBackoffMs, ReconnectionPolicy } from './backoff.js'
import { AbortedError, InvalidArgumentError } from './errors.js'
import { TypedEmitter } from './events.js'
import type { Unsubscribe } from './events.js'
import { MAX_TIMER_MS, resolveReconnectionOptions } from './options.js'
import type { ReconnectionStrategyOptions, ResolvedReconnectionOptions } from './options.js'
import { sleep } from './sleep.js'

/**
 * What {@link ReconnectionStrategy} needs from an endpoint. `AIPEndpoint` fits; so does any object with a
 * `reconnectDevice` method. The two optional hooks are called by `handleDisconnection`, in this order:
 * `cancelDeviceTasks(deviceId, 'device_disconnected')`, then `onDeviceDisconnected(deviceId)`.
 */
export interface ReconnectableEndpoint {
  /** Tries once to reconnect; resolves true on success. The signal aborts when the reconnection is abandoned. */
  reconnectDevice (deviceId: string, options?: { signal?: AbortSignal }): Promise<boolean> | boolean
  /** Cancels the device's pending tasks. */
  cancelDeviceTasks? (deviceId: string, reason: string): Promise<void> | void
  /** Tells upper layers the device went away. */
  onDeviceDisconnected? (deviceId: string): Promise<void> | void
}

/**
 * Events of {@link ReconnectionStrategy}, by name.
 */
export interface ReconnectionEvents {
  /** An attempt is scheduled: the strategy now waits `delayMs`, then calls `reconnectDevice`. */
  attempt: { deviceId: string, attempt: number, delayMs: number }
  /** `reconnectDevice` resolved false or threw (`error` is what it threw). */
  failed: { deviceId: string, attempt: number, error: unknown }
  /** `reconnectDevice` resolved true. */
  reconnected: { deviceId: string, attempt: number }
  /** `maxRetries` attempts failed; the strategy gives up on this device. */
  exhausted: { deviceId: string, attempts: number }
}

/**
 * Per-call options of {@link ReconnectionStrategy.attemptReconnection}.
 */
export interface AttemptReconnectionOptions {
  /** Aborting it abandons the reconnection: the promise rejects with `AIP_ERR_ABORTED`. */
  signal?: AbortSignal | undefined
  /**
   * The retry budget of this reconnection: an integer >= 0, or `Infinity`. Default: the strategy's `maxRetries`.
   * It lets one strategy (one backoff shape) serve devices whose budgets differ.
   */
  maxRetries?: number | undefined
  /**
   * Longest wait before an attempt of this reconnection, in ms (an integer >= 1): a delay the backoff makes longer is
   * drawn again between half of it and all of it, so that capped clients stay spread. For a client whose server holds
   * its work for a limited time (a resume window): it must come back within it. Default: no cap beyond the
   * strategy's `maxBackoffMs`.
   */
  maxDelayMs?: number | undefined
  /**
   * A server's reconnect hint (a server that drains before a restart asks its clients to come back within a window):
   * the first attempt waits a random delay between 0 and this many ms (an integer >= 0, at most `maxDelayMs`)
   * instead of its backoff, so that the clients of one server come back spread over the window. Later attempts back
   * off as usual. Default: the backoff for every attempt.
   */
  firstAttemptWithinMs?: number | undefined
}

interface InFlight {
  failures: number
  readonly maxRetries: number
  readonly maxDelayMs: number
  /** The window of the first attempt (a server's hint), until it is used. */
  firstWithinMs: number | undefined
  readonly controller: AbortController
  promise: Promise<boolean>
}

/**
 * Reconnects devices after a disconnection, waiting a (jittered, capped) backoff before each attempt.
 *
 * Attempts are counted per device: one strategy can serve many devices at once without one device's
 * failures lengthening another's delays. A second call for a device that is already reconnecting joins
 * the reconnection in flight.
 *
 * @example
 * ```ts
 * const strategy = new ReconnectionStrategy({ maxRetries: Infinity })
 * strategy.on('attempt', ({ deviceId, attempt, delayMs }) => log.info({ deviceId, attempt, delayMs }, 'retrying'))
 * await strategy.handleDisconnection(endpoint, 'device-1', async () => { await resubscribe() })
 * ```
 */
export class ReconnectionStrategy {
  /** The validated, frozen options. */
  readonly options: ResolvedReconnectionOptions
  readonly #events: TypedEmitter<ReconnectionEvents>
  readonly #inFlight = new Map<string, InFlight>()

  /**
   * @throws `AIP_ERR_INVALID_OPTION` when an option is out of range
   */
  constructor (options?: ReconnectionStrategyOptions) {
    this.options = resolveReconnectionOptions(options)
    const { logger } = this.options
    this.#events = new TypedEmitter((err, event) => logger.error({ err, event }, 'reconnection event listener threw'))
  }

  /** The policy in use. */
  get policy (): ReconnectionPolicy {
    return this.options.policy
  }

  /** Number of devices currently being reconnected. */
  get activeCount (): number {
    return this.#inFlight.size
  }

  /**
   * Adds a listener; returns a function that removes it.
   */
  on<K extends keyof ReconnectionEvents> (event: K, listener: (payload: ReconnectionEvents[K]) => void): Unsubscribe {
    return this.#events.on(event, listener)
  }

  /**
   * The delay before attempt `attempt` (1 for the first) with this strategy's options and random source.
   *
   * @throws `AIP_ERR_INVALID_ARGUMENT` when `attempt` is not an integer >= 1
   */
  backoffMs (attempt: number): number {
    if (!Number.isInteger(attempt) || attempt < 1) throw new InvalidArgumentError('attempt', 'an integer >= 1', String(attempt))
    return computeBackoffMs(attempt, this.options, this.options.random)
  }

  /**
   * Failed attempts so far of the reconnection in flight for `deviceId` (0 when none is in flight).
   */
  retryCount (deviceId: string): number {
    return this.#inFlight.get(deviceId)?.failures ?? 0
  }

  /**
   * Whether a reconnection is in flight for `deviceId`.
   */
  isReconnecting (deviceId: string): boolean {
    return this.#inFlight.has(deviceId)
  }

  /**
   * Restarts the count of the reconnection in flight for `deviceId` (or of every device): the next delay is
   * the first of the sequence again and the retry budget is whole again. No effect when nothing is in flight.
   */
  reset (deviceId?: string): void {
    for (const [id, state] of this.#inFlight) {
      if (deviceId === undefined || id === deviceId) state.failures = 0
    }
  }

  /**
   * Tries to reconnect `deviceId` until `reconnectDevice` resolves true or `maxRetries` attempts failed,
   * sleeping the backoff before each attempt. Resolves true once reconnected, false when it gave up (at once
   * with the `NONE` policy or a budget of 0). Errors thrown by `reconnectDevice` count as failed attempts. The
   * wait between attempts keeps the process alive until the reconnection ends or is aborted.
   *
   * @throws (rejects) `AIP_ERR_ABORTED` when `signal` aborts or the strategy is disposed first
   * @throws (rejects) `AIP_ERR_INVALID_ARGUMENT` when `options.maxRetries` is not an integer >= 0 nor `Infinity`
   */
  attemptReconnection (endpoint: ReconnectableEndpoint, deviceId: string, options: AttemptReconnectionOptions = {}): Promise<boolean> {
    const { logger, policy } = this.options
    const maxRetries = options.maxRetries ?? this.options.maxRetries
    if (!(maxRetries === Infinity || (Number.isInteger(maxRetries) && maxRetries >= 0))) {
      return Promise.reject(new InvalidArgumentError('maxRetries', 'an integer >= 0 or Infinity', String(maxRetries)))
    }
    const maxDelayMs = options.maxDelayMs ?? Infinity
    if (!(maxDelayMs === Infinity || (Number.isInteger(maxDelayMs) && maxDelayMs >= 1))) {
      return Promise.reject(new InvalidArgumentError('maxDelayMs', 'an integer >= 1', String(maxDelayMs)))
    }
    const firstWithinMs = options.firstAttemptWithinMs
    if (firstWithinMs !== undefined && !(Number.isInteger(firstWithinMs) && firstWithinMs >= 0 && firstWithinMs <= MAX_TIMER_MS)) {
      return Promise.reject(new InvalidArgumentError('firstAttemptWithinMs', `an integer from 0 to ${MAX_TIMER_MS}`, String(firstWithinMs)))
    }
    const running = this.#inFlight.get(deviceId)
    if (running !== undefined) {
      logger.debug({ deviceId }, 'reconnection already in flight, joining it')
      return running.promise
    }
    if (policy === ReconnectionPolicy.NONE || maxRetries === 0) {
      logger.info({ deviceId, policy, maxRetries }, 'reconnection disabled')
      return Promise.resolve(false)
    }
    const { signal } = options
    if (signal?.aborted === true) {
      return Promise.reject(new AbortedError(`reconnection of ${deviceId}`, signal.reason))
    }
    const controller = new AbortController()
    const onAbort = (): void => controller.abort(signal?.reason)
    signal?.addEventListener('abort', onAbort, { once: true })
    // The loop starts on the next microtask, so `promise` is set before any listener can call us again.
    const state: InFlight = {
      failures: 0,
      maxRetries,
      maxDelayMs,
      firstWithinMs: firstWithinMs === undefined ? undefined : Math.min(firstWithinMs, maxDelayMs),
      controller,
      promise: Promise.resolve()
        .then(() => this.#run(endpoint, deviceId, state))
        .finally(() => {
          signal?.removeEventListener('abort', onAbort)
          this.#inFlight.delete(deviceId)
        })
    }
    this.#inFlight.set(deviceId, state)
    return state.promise
  }

  /** The backoff of `attempt`, or, when it is longer than `maxDelayMs`, a delay drawn in [maxDelayMs / 2, maxDelayMs]. */
  #delay (attempt: number, maxDelayMs: number): number {
    const delayMs = this.backoffMs(attempt)
    if (delayMs <= maxDelayMs) return delayMs
    return Math.round(maxDelayMs / 2 + (maxDelayMs / 2) * this.options.random())
  }

  async #run (endpoint: ReconnectableEndpoint, deviceId: string, state: InFlight): Promise<boolean> {
    const { logger } = this.options
    const { maxRetries } = state
    const { signal } = state.controller
    try {
      while (state.failures < maxRetries) {
        const attempt = state.failures + 1
        const delayMs = state.firstWithinMs === undefined
          ? this.#delay(attempt, state.maxDelayMs)
          : Math.round(state.firstWithinMs * this.options.random())
        state.firstWithinMs = undefined
        logger.info({ deviceId, attempt, maxRetries, delayMs }, 'reconnection attempt scheduled')
        this.#events.emit('attempt', { deviceId, attempt, delayMs })
        await sleep(delayMs, { signal })
        let error: unknown
        let reconnected = false
        try {
          reconnected = (await endpoint.reconnectDevice(deviceId, { signal })) === true
        } catch (err) {
          error = err
        }
        if (reconnected) {
          logger.info({ deviceId, attempt }, 'reconnected')
          this.#events.emit('reconnected', { deviceId, attempt })
          return true
        }
        signal.throwIfAborted()
        logger.warn({ deviceId, attempt, delayMs, err: error }, 'reconnection attempt failed')
        this.#events.emit('failed', { deviceId, attempt, error })
        state.failures++
      }
    } catch (err) {
      // Only an abort gets here: sleep() and throwIfAborted() are the only throwers.
      throw new AbortedError(`reconnection of ${deviceId}`, signal.aborted ? signal.reason : err)
    }
    logger.error({ deviceId, attempts: state.failures }, 'reconnection attempts exhausted')
    this.#events.emit('exhausted', { deviceId, attempts: state.failures })
    return false
  }

  /**
   * Recovers from a disconnection as the reference does: cancels the device's pending tasks, notifies upper
   * layers, reconnects (unless the policy is `NONE`), then runs `onReconnect`. Errors of the hooks and of
   * `onReconnect` are logged, not thrown. Resolves with whether the device is reconnected.
   *
   * @throws (rejects) `AIP_ERR_ABORTED` when `signal` aborts or the strategy is disposed first
   */
  async handleDisconnection (
    endpoint: ReconnectableEndpoint,
    deviceId: string,
    onReconnect?: () => void | Promise<void>,
    options: AttemptReconnectionOptions = {}
  ): Promise<boolean> {
    const { logger } = this.options
    logger.warn({ deviceId }, 'device disconnected, starting recovery')
    if (typeof endpoint.cancelDeviceTasks === 'function') {
      try {
        await endpoint.cancelDeviceTasks(deviceId, 'device_disconnected')
      } catch (err) {
        logger.error({ err, deviceId }, 'cancelling device tasks failed')
      }
    }
    if (typeof endpoint.onDeviceDisconnected === 'function') {
      try {
        await endpoint.onDeviceDisconnected(deviceId)
      } catch (err) {
        logger.error({ err, deviceId }, 'disconnection hook failed')
      }
    }
    const reconnected = await this.attemptReconnection(endpoint, deviceId, options)
    if (reconnected && onReconnect !== undefined) {
      try {
        await onReconnect()
      } catch (err) {
        logger.error({ err, deviceId }, 'reconnection callback failed')
      }
    }
    return reconnected
  }

  /**
   * Abandons every reconnection in flight (their promises reject with `AIP_ERR_ABORTED`), clears
   * their timers and removes every listener. The strategy can still be used afterwards.
   */
  dispose (): void {
    for (const [deviceId, state] of this.#inFlight) {
      state.controller.abort(new AbortedError(`reconnection of ${deviceId} (strategy disposed)`))
    }
    this.#events.clear()
  }
}
