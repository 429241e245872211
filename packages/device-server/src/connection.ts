import { CloseCode, type CloseInfo, type Logger, type Transport } from '@aip/endpoint'
import { encodeServerMessage, type ClientType, type DecodedServerMessage } from '@aip/protocol'

/** The registered identity of a connection, pinned at REGISTER. */
export interface Identity {
  readonly clientId: string
  readonly clientType: ClientType
  readonly targetId: string | null
}

/**
 * One client connection: its transport, its pinned identity, an ordered queue of incoming frames, and liveness
 * (pings, silence). Frames are handled one after another, in arrival order.
 */
export class ClientConnection {
  readonly transport: Transport
  /** A label for logs before the client registers. */
  readonly connectionId: string
  /** The client id a per-client key allows, or `null`. */
  readonly boundClientId: string | null
  identity: Identity | null = null
  /** The registration deadline, cleared once the client registers. */
  registrationTimer: NodeJS.Timeout | null = null
  closed = false
  closeInfo: CloseInfo | null = null
  lastSeen: number
  /** Frames waiting, the one being handled first; `null` when empty (an idle connection holds no array). */
  #queue: Array<() => Promise<void> | undefined> | null = null
  #draining = false
  /** Timers to clear at the end; `null` when there are none. */
  #timers: Set<NodeJS.Timeout> | null = null
  readonly #now: () => number
  readonly #logger: Logger

  constructor (transport: Transport, init: { connectionId: string, boundClientId: string | null, now: () => number, logger: Logger }) {
    this.transport = transport
    this.connectionId = init.connectionId
    this.boundClientId = init.boundClientId
    this.#now = init.now
    this.#logger = init.logger
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
    if (this.closed || !this.transport.isOpen) return false
    // Without a promise per frame when the transport can (WebSocketTransport).
    if (this.transport.post !== undefined) return this.transport.post(text, (err) => this.#sendFailed(err))
    this.transport.send(text).catch((err: unknown) => this.#sendFailed(err))
    return true
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
  }

  /** Resolves true when the peer answers a ping within `ms`, false otherwise (or when it is gone). */
  probe (ms: number): Promise<boolean> {
    if (this.closed || !this.transport.isOpen) return Promise.resolve(false)
    return new Promise((resolve) => {
      const stopPong = this.transport.on('pong', () => finish(true))
      const stopClose = this.transport.on('close', () => finish(false))
      const handle = setTimeout(() => finish(false), ms)
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
