import { TypedEmitter } from './events.js'
import type { Unsubscribe } from './events.js'
import { checkMs, resolveHeartbeatOptions } from './options.js'
import type { HeartbeatManagerOptions, ResolvedHeartbeatOptions } from './options.js'

/**
 * Events of {@link HeartbeatManager}, by name.
 */
export interface HeartbeatEvents {
  /** A heartbeat was handed to `send`. */
  sent: { clientId: string }
  /** An acknowledgement arrived; `rttMs` is the time since the heartbeat it answers was sent. */
  ack: { clientId: string, rttMs: number }
  /** A heartbeat went unacknowledged for a whole interval; `missedAcks` counts consecutive misses. */
  missed: { clientId: string, missedAcks: number }
  /**
   * `maxMissedAcks` consecutive heartbeats went unacknowledged: the peer is considered dead and its heartbeat
   * has been stopped. `lastRttMs` is the last measured RTT (undefined if no ack ever arrived).
   */
  dead: { clientId: string, missedAcks: number, lastRttMs: number | undefined }
  /** `send` threw or rejected (the heartbeat then counts as unacknowledged). */
  sendError: { clientId: string, error: unknown }
}

/**
 * Per-client options of {@link HeartbeatManager.start}.
 */
export interface HeartbeatStartOptions {
  /** Time between heartbeats for this client, in ms, > 0. Default: the manager's `intervalMs`. */
  intervalMs?: number
}

interface ClientState {
  readonly intervalMs: number
  readonly controller: AbortController
  timer: ReturnType<typeof setTimeout>
  /** `now()` when the heartbeat awaiting its ack was sent; undefined when none is awaited. */
  sentAt: number | undefined
  missedAcks: number
  lastRttMs: number | undefined
}

/**
 * Sends heartbeats to many clients, each on its own interval, and tracks their acknowledgements.
 *
 * Every `intervalMs` the manager first checks the previous heartbeat: if its ack has not arrived, that is a
 * miss; after `maxMissedAcks` consecutive misses the peer is declared dead (`dead` event) and its heartbeat
 * stops. Otherwise it sends the next heartbeat through `send`. Feed acknowledgements in with `recordAck()`.
 * The manager knows nothing about messages: `send` builds and writes them.
 *
 * One `unref()`ed timer per client, re-armed at each tick; `stop()`, `stopAll()` and `dispose()` clear them.
 *
 * @example
 * ```ts
 * const heartbeats = new HeartbeatManager({ send: (id) => endpoint.sendHeartbeat(id), intervalMs: 20_000 })
 * heartbeats.on('dead', ({ clientId }) => endpoint.dropClient(clientId))
 * heartbeats.start('device-1')
 * // when the peer's HEARTBEAT ok arrives:
 * heartbeats.recordAck('device-1')
 * ```
 */
export class HeartbeatManager {
  /** The validated, frozen options. */
  readonly options: ResolvedHeartbeatOptions
  readonly #events: TypedEmitter<HeartbeatEvents>
  readonly #clients = new Map<string, ClientState>()

  /**
   * @throws `AIP_ERR_INVALID_OPTION` when `send` is missing or an option is out of range
   */
  constructor (options: HeartbeatManagerOptions) {
    this.options = resolveHeartbeatOptions(options)
    const { logger } = this.options
    this.#events = new TypedEmitter((err, event) => logger.error({ err, event }, 'heartbeat event listener threw'))
  }

  /** Number of clients whose heartbeat is running (each holds exactly one timer). */
  get activeCount (): number {
    return this.#clients.size
  }

  /**
   * Adds a listener; returns a function that removes it.
   */
  on<K extends keyof HeartbeatEvents> (event: K, listener: (payload: HeartbeatEvents[K]) => void): Unsubscribe {
    return this.#events.on(event, listener)
  }

  /**
   * Starts the heartbeat of `clientId`; the first one is sent after one interval. Restarts it (with fresh
   * counters) if it was already running.
   *
   * @throws `AIP_ERR_INVALID_OPTION` when `intervalMs` is not a number > 0 (0 is not "the default")
   */
  start (clientId: string, options: HeartbeatStartOptions = {}): void {
    const intervalMs = checkMs('intervalMs', options.intervalMs ?? this.options.intervalMs, true)
    const { logger } = this.options
    if (this.#clients.has(clientId)) {
      logger.warn({ clientId }, 'heartbeat already running, restarting it')
      this.stop(clientId)
    }
    const state: ClientState = {
      intervalMs,
      controller: new AbortController(),
      timer: this.#arm(clientId, intervalMs),
      sentAt: undefined,
      missedAcks: 0,
      lastRttMs: undefined
    }
    this.#clients.set(clientId, state)
    logger.info({ clientId, intervalMs }, 'heartbeat started')
  }

  /**
   * Stops the heartbeat of `clientId`: clears its timer and aborts the signal given to a `send` in flight.
   * Returns whether it was running.
   */
  stop (clientId: string): boolean {
    const state = this.#clients.get(clientId)
    if (state === undefined) return false
    clearTimeout(state.timer)
    state.controller.abort()
    this.#clients.delete(clientId)
    this.options.logger.info({ clientId }, 'heartbeat stopped')
    return true
  }

  /**
   * Stops every heartbeat.
   */
  stopAll (): void {
    for (const clientId of [...this.#clients.keys()]) this.stop(clientId)
  }

  /**
   * Stops every heartbeat and removes every listener. The manager can still be used afterwards.
   */
  dispose (): void {
    this.stopAll()
    this.#events.clear()
  }

  /** Whether the heartbeat of `clientId` is running. */
  isRunning (clientId: string): boolean {
    return this.#clients.has(clientId)
  }

  /** The interval of `clientId` in ms, or undefined when its heartbeat is not running. */
  getIntervalMs (clientId: string): number | undefined {
    return this.#clients.get(clientId)?.intervalMs
  }

  /** The last measured round-trip time of `clientId` in ms, or undefined if none yet. */
  getLastRttMs (clientId: string): number | undefined {
    return this.#clients.get(clientId)?.lastRttMs
  }

  /** Consecutive unacknowledged heartbeats of `clientId` (0 when not running). */
  getMissedAcks (clientId: string): number {
    return this.#clients.get(clientId)?.missedAcks ?? 0
  }

  /**
   * Records the acknowledgement of the last heartbeat sent to `clientId`: measures the RTT, resets the miss
   * count and emits `ack`. Returns the RTT in ms, or undefined when no heartbeat was awaiting an ack (the
   * client is not running, or the ack is a duplicate).
   */
  recordAck (clientId: string): number | undefined {
    const state = this.#clients.get(clientId)
    if (state?.sentAt === undefined) return undefined
    const rttMs = this.options.now() - state.sentAt
    state.sentAt = undefined
    state.missedAcks = 0
    state.lastRttMs = rttMs
    this.options.logger.debug({ clientId, rttMs }, 'heartbeat acknowledged')
    this.#events.emit('ack', { clientId, rttMs })
    return rttMs
  }

  #arm (clientId: string, intervalMs: number): ReturnType<typeof setTimeout> {
    const timer = setTimeout(() => this.#tick(clientId), intervalMs)
    timer.unref()
    return timer
  }

  #tick (clientId: string): void {
    const state = this.#clients.get(clientId)
    /* c8 ignore next */
    if (state === undefined) return // cleared timers do not fire; defensive only
    const { logger, maxMissedAcks, now, send } = this.options
    if (state.sentAt !== undefined) {
      state.missedAcks++
      logger.warn({ clientId, missedAcks: state.missedAcks, maxMissedAcks }, 'heartbeat ack missed')
      this.#events.emit('missed', { clientId, missedAcks: state.missedAcks })
      // A listener of `missed` may have stopped or restarted this client: then this tick is over.
      if (this.#clients.get(clientId) !== state) return
      if (state.missedAcks >= maxMissedAcks) {
        this.stop(clientId)
        logger.error({ clientId, missedAcks: state.missedAcks, lastRttMs: state.lastRttMs }, 'peer declared dead')
        this.#events.emit('dead', { clientId, missedAcks: state.missedAcks, lastRttMs: state.lastRttMs })
        return
      }
    }
    state.timer = this.#arm(clientId, state.intervalMs)
    state.sentAt = now()
    const { signal } = state.controller
    try {
      Promise.resolve(send(clientId, { signal })).catch((err: unknown) => this.#sendFailed(clientId, err))
    } catch (err) {
      this.#sendFailed(clientId, err)
    }
    logger.debug({ clientId }, 'heartbeat sent')
    this.#events.emit('sent', { clientId })
  }

  #sendFailed (clientId: string, error: unknown): void {
    this.options.logger.warn({ err: error, clientId }, 'sending heartbeat failed')
    this.#events.emit('sendError', { clientId, error })
  }
}
