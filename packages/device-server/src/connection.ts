import { CloseCode, type CloseInfo, type Logger, type Transport } from '@aip/endpoint'
import type { Credential } from './auth.js'
import { encodeServerMessage, type ClientType, type DecodedServerMessage } from '@aip/protocol'

/** The registered identity of a connection, pinned at REGISTER. */
export interface Identity {
  readonly clientId: string
  readonly clientType: ClientType
  readonly targetId: string | null
}

/** How long a connection over its outbound budget has to take its close frame before it is dropped. */
export const OVER_BUDGET_GRACE_MS = 1000

/** What {@link ClientConnection} needs besides its transport. */
export interface ConnectionInit {
  connectionId: string
  credential: Credential
  now: () => number
  logger: Logger
  /** Bytes sent but not yet written past which the peer is taken to be not reading. Default: unbounded. */
  maxOutboundBytes?: number
}

/**
 * One client connection: its transport, its pinned identity, an ordered queue of incoming frames, and liveness
 * (pings, silence). Frames are handled one after another, in arrival order.
 */
export class ClientConnection {
  readonly transport: Transport
  /** A label for logs before the client registers. */
  readonly connectionId: string
  /** The credential presented at the handshake. */
  readonly credential: Credential
  /** Set once the outbound budget was exceeded: nothing more is sent, the connection is closing. */
  overBudget = false
  identity: Identity | null = null
  /** The registration deadline, cleared once the client registers. */
  registrationTimer: NodeJS.Timeout | null = null
  closed = false
  closeInfo: CloseInfo | null = null
  lastSeen: number
  /** Frames waiting, the one being handled first; `null` when empty (an idle connection holds no array). */
  #queue: Array<() => Promise<void> | undefined> | null = null
  #draining = false
  /** Counts frames and pongs received, so that a probe can tell whether the peer said anything meanwhile. */
  #activity = 0
  /** Timers to clear at the end; `null` when there are none. */
  #timers: Set<NodeJS.Timeout> | null = null
  readonly #now: () => number
  readonly #logger: Logger
  readonly #maxOutboundBytes: number

  constructor (transport: Transport, init: ConnectionInit) {
    this.transport = transport
    this.connectionId = init.connectionId
    this.credential = init.credential
    this.#now = init.now
    this.#logger = init.logger
    this.#maxOutboundBytes = init.maxOutboundBytes ?? Number.POSITIVE_INFINITY
    this.lastSeen = init.now()
  }

  /** Frames waiting to be handled (the one being handled included). */
  get queued (): number {
    return this.#queue === null ? 0 : this.#queue.length
  }

  /**
   * Queues `work` after every frame received before it. Synchronous work runs without a promise; asynchronous
   * work holds the queue until it settles. Errors are logged, never thrown.
   */
  enqueue (work: () => Promise<void> | undefined): void {
    if (this.#queue === null) this.#queue = [work]
    else this.#queue.push(work)
    if (!this.#draining) this.#drain()
  }

  #drain (): void {
    this.#draining = true
    while (this.#queue !== null) {
      const work = this.#queue[0] as () => Promise<void> | undefined
      let pending: Promise<void> | undefined
      try {
        pending = work()
      } catch (err) {
        this.#fail(err)
      }
      if (pending !== undefined) {
        pending.catch((err: unknown) => this.#fail(err)).finally(() => {
          this.#shift()
          this.#drain()
        })
        return
      }
      this.#shift()
    }
    this.#draining = false
  }

  /** Drops the frame just handled. */
  #shift (): void {
    const queue = this.#queue as Array<() => Promise<void> | undefined>
    if (queue.length === 1) this.#queue = null
    else queue.shift()
  }

  #fail (err: unknown): void {
    this.#logger.error({ err, connectionId: this.connectionId, clientId: this.identity?.clientId }, 'frame handler failed')
  }

  /**
   * Sends a server message. Frames leave in the order of the calls; the write itself completes later (a failure
   * is logged at debug level, and the socket's close follows). False when the connection is already gone.
   */
  send (message: DecodedServerMessage, extra: Readonly<Record<string, unknown>> | null = null): boolean {
    return this.sendText(encodeServerMessage(message, { validate: false, extra }))
  }

  /** Sends an already encoded frame (one TASK_END encoded once for two recipients). */
  sendText (text: string): boolean {
    if (this.closed || this.overBudget || !this.transport.isOpen) return false
    // Without a promise per frame when the transport can (WebSocketTransport).
    if (this.transport.post !== undefined) {
      if (!this.transport.post(text, (err) => this.#sendFailed(err))) return false
    } else {
      this.transport.send(text).catch((err: unknown) => this.#sendFailed(err))
    }
    if (this.transport.bufferedAmount > this.#maxOutboundBytes) this.#exceeded()
    return true
  }

  /**
   * A peer that does not read what it is sent: stop sending, log once, close with 1008 and drop the socket after a
   * short grace (the close frame waits behind the unread bytes, so a close handshake may never complete).
   */
  #exceeded (): void {
    this.overBudget = true
    this.#logger.warn({
      connectionId: this.connectionId,
      clientId: this.identity?.clientId,
      bufferedBytes: this.transport.bufferedAmount,
      maxOutboundBytes: this.#maxOutboundBytes
    }, 'peer does not read its frames: outbound budget exceeded, closing')
    this.transport.close(CloseCode.PolicyViolation, 'outbound budget exceeded')
    this.timer(OVER_BUDGET_GRACE_MS, () => this.transport.terminate())
  }

  #sendFailed (err: unknown): void {
    this.#logger.debug({ err, connectionId: this.connectionId, clientId: this.identity?.clientId }, 'send failed: connection gone')
  }

  /** Sends `message` (usually an ERROR), then closes with `code`; the frame goes out before the close. */
  sendAndClose (message: DecodedServerMessage, code: number, reason: string): void {
    this.send(message)
    this.close(code, reason)
  }

  close (code: number = CloseCode.Normal, reason = ''): void {
    if (this.closed) return
    this.transport.close(code, reason)
  }

  /** Runs `fn` after `ms`; the timer is unref'ed and cleared when the connection ends. */
  timer (ms: number, fn: () => void, repeat = false): NodeJS.Timeout {
    const handle = repeat ? setInterval(fn, ms) : setTimeout(() => { this.#forget(handle); fn() }, ms)
    handle.unref()
    this.#timers ??= new Set()
    this.#timers.add(handle)
    return handle
  }

  /** Clears a timer set with {@link timer} before it fires. */
  cancelTimer (handle: NodeJS.Timeout): void {
    clearTimeout(handle)
    this.#forget(handle)
  }

  #forget (handle: NodeJS.Timeout): void {
    this.#timers?.delete(handle)
    if (this.#timers?.size === 0) this.#timers = null
  }

  /** Marks activity (a frame or a pong). */
  seen (): void {
    this.lastSeen = this.#now()
    this.#activity++
  }

  /**
   * Resolves true when the peer shows it is alive within `ms` (it answers a ping, or sends any frame), false
   * otherwise (or when it is gone).
   */
  probe (ms: number): Promise<boolean> {
    if (this.closed || !this.transport.isOpen) return Promise.resolve(false)
    const activity = this.#activity
    return new Promise((resolve) => {
      const stopPong = this.transport.on('pong', () => finish(true))
      const stopClose = this.transport.on('close', () => finish(false))
      const handle = setTimeout(() => finish(this.#activity !== activity && !this.closed), ms)
      handle.unref()
      const finish = (alive: boolean): void => {
        clearTimeout(handle)
        stopPong()
        stopClose()
        resolve(alive)
      }
      this.transport.ping()
    })
  }

  /** Clears every timer; called once the connection is closed. */
  dispose (): void {
    for (const handle of this.#timers ?? []) clearTimeout(handle)
    this.#timers = null
  }
}
