import { CloseCode, type AIPProtocol, type CloseInfo, type Logger, type Transport } from '@aip/endpoint'
import { logsAt } from '@aip/endpoint/internal'
import type { ClientType, ContinuityGrant, DecodedServerMessage, ServerMessage } from '@aip/protocol'
import type { Credential } from './auth.js'

/** The registered identity of a connection, pinned at REGISTER. */
export interface Identity {
  readonly clientId: string
  readonly clientType: ClientType
  readonly targetId: string | null
  /** This registration's epoch for the client id (the continuity extension): +1 on every registration of the id. */
  readonly epoch: number
  /** What the server granted (the continuity extension); `null` when the REGISTER asked for nothing. */
  readonly grant: ContinuityGrant | null
}

/** How long a connection over its outbound budget has to take its close frame before it is dropped. */
export const OVER_BUDGET_GRACE_MS = 1000

/**
 * What every connection of one server shares: one object per server, so that a connection holds a single reference
 * for all of it rather than a field each.
 */
export interface ConnectionSettings {
  /** The server's clock (ms since the epoch). */
  readonly now: () => number
  /**
   * The server's clock when it was made: a connection keeps its times relative to it, small integers that need no
   * heap number of their own (ms since the epoch do not fit in one).
   */
  readonly origin: number
  readonly logger: Logger
  /** Bytes sent but not yet written past which the peer is taken to be not reading. `Infinity`: unbounded. */
  readonly maxOutboundBytes: number
  /**
   * Told when a write fails after it was handed over (the connection is gone; its close follows). One function
   * shared by every connection of a server, so that a connection holds no closure of its own. It only logs at debug
   * level: while the logger does not write debug lines, frames are written without it (no write callback, nothing
   * scheduled after a write that completes at once).
   */
  readonly onSendError: (err: unknown) => void
}

const ignore = (): void => {}

/** The options of a frame our builders made, with no extension field and no write to log: one object for all. */
const UNLOGGED_POST = Object.freeze({ extra: null, validate: false })
/** The options of a relayed frame with no write to log. */
const NO_POST_OPTIONS = Object.freeze({})

/** The {@link ConnectionSettings} of a server from its clock, logger and limits. */
export function connectionSettings (init: {
  now: () => number
  logger: Logger
  maxOutboundBytes?: number
  onSendError?: (err: unknown) => void
}): ConnectionSettings {
  return Object.freeze({
    now: init.now,
    origin: init.now(),
    logger: init.logger,
    maxOutboundBytes: init.maxOutboundBytes ?? Number.POSITIVE_INFINITY,
    onSendError: init.onSendError ?? ignore
  })
}

/**
 * One client connection: its {@link AIPProtocol} (which decodes its frames and hands them over one after another,
 * in arrival order), its pinned identity, its outbound budget and liveness (pings, silence). A server holds one per
 * connection, idle ones by the thousand: it keeps only what differs between connections (the rest is in its
 * {@link ConnectionSettings}), its transport is its protocol's, and its times are small integers.
 */
export class ClientConnection {
  /** The protocol engine of the connection: every frame in and out goes through it. */
  readonly protocol: AIPProtocol<'server'>
  /** A label for logs before the client registers. */
  readonly connectionId: string
  /** The credential presented at the handshake. */
  readonly credential: Credential
  // The fields below change after the connection is made. Each is written in the constructor, not by an
  // initialiser: V8 takes a field that was only ever initialised for a constant, and the first later write (the
  // server's first closed connection, its first pong) would throw away the compiled code of the connect path.
  /** Set once the outbound budget was exceeded: nothing more is sent, the connection is closing. */
  overBudget: boolean
  identity: Identity | null
  /** The ticket of its registration deadline (`core.registrationDeadlines`), released once it registers or closes. */
  deadlineTicket: number
  /** How its transport closed; `null` while it is open (see {@link closed}). */
  closeInfo: CloseInfo | null
  /** When the connection was accepted, or its last pong arrived, relative to the settings' `origin`. */
  #seenAt: number
  /** Pongs received; with the protocol's frame count, a probe tells whether the peer said anything meanwhile. */
  #pongs: number
  /** Timers to clear at the end; `null` when there are none. */
  #timers: Set<NodeJS.Timeout> | null
  readonly #settings: ConnectionSettings

  constructor (protocol: AIPProtocol<'server'>, connectionId: string, credential: Credential, settings: ConnectionSettings) {
    this.protocol = protocol
    this.connectionId = connectionId
    this.credential = credential
    this.#settings = settings
    this.#seenAt = settings.now() - settings.origin
    this.overBudget = false
    this.identity = null
    this.deadlineTicket = -1
    this.closeInfo = null
    this.#pongs = 0
    this.#timers = null
  }

  /** The transport of the connection (its protocol's). */
  get transport (): Transport {
    return this.protocol.transport
  }

  /** True once its transport has closed (then {@link closeInfo} says how): nothing more is sent or handled on it. */
  get closed (): boolean {
    return this.closeInfo !== null
  }

  /**
   * When the peer last showed a sign of life: its last frame (timed on arrival by the protocol, whose `clock` is
   * the server's), its last pong, or the accept.
   */
  get lastSeen (): number {
    const frameAt = this.protocol.lastFrameAt
    const seenAt = this.#seenAt + this.#settings.origin
    return frameAt === undefined || frameAt < seenAt ? seenAt : frameAt
  }

  /** Frames waiting to be handled (the one being handled included). */
  get queued (): number {
    return this.protocol.queuedFrames
  }

  /**
   * Sends a server message. Frames leave in the order of the calls; the write itself completes later (a failure
   * is logged at debug level, and the socket's close follows). False when the connection is already gone.
   */
  send (message: DecodedServerMessage, extra: Readonly<Record<string, unknown>> | null = null): boolean {
    return this.#post(message, extra, undefined)
  }

  /** Sends `message` already encoded as `text` (one TASK_END encoded once for two recipients). */
  sendEncoded (message: DecodedServerMessage, text: string): boolean {
    return this.#post(message, null, text)
  }

  /**
   * Sends a frame another node encoded as `text`, written as it is: `message` (its decoded form) is made only when
   * something on this connection reads it (middleware, a `sent` listener, a write still in flight).
   */
  sendRelayed (text: string, message: () => DecodedServerMessage): boolean {
    if (!this.#sendable()) return false
    const onError = this.#onSendError()
    if (!this.protocol.postEncoded(text, message as () => ServerMessage, onError === undefined ? NO_POST_OPTIONS : { onError })) return false
    this.#checkBudget()
    return true
  }

  #post (message: DecodedServerMessage, extra: Readonly<Record<string, unknown>> | null, encoded: string | undefined): boolean {
    if (!this.#sendable()) return false
    // Without a promise per frame when nothing in between needs one (AIPProtocol.post); our builders made it.
    const onError = this.#onSendError()
    const options = encoded !== undefined
      ? { extra, validate: false, encoded, onError }
      : extra === null && onError === undefined ? UNLOGGED_POST : { extra, validate: false, onError }
    if (!this.protocol.post(message as ServerMessage, options)) return false
    this.#checkBudget()
    return true
  }

  /** Whether a frame may be written now. */
  #sendable (): boolean {
    return !this.closed && !this.overBudget && this.transport.isOpen
  }

  /** What a failed write calls: only worth a debug line (without one to write, nothing waits for the write). */
  #onSendError (): ((err: unknown) => void) | undefined {
    const settings = this.#settings
    return logsAt(settings.logger, 'debug') ? settings.onSendError : undefined
  }

  /** After a write: a peer past its outbound budget is closed. */
  #checkBudget (): void {
    if (this.transport.bufferedAmount > this.#settings.maxOutboundBytes) this.#exceeded()
  }

  /**
   * A peer that does not read what it is sent: stop sending, log once, close with 1008 and drop the socket after a
   * short grace (the close frame waits behind the unread bytes, so a close handshake may never complete).
   */
  #exceeded (): void {
    this.overBudget = true
    this.#settings.logger.warn({
      connectionId: this.connectionId,
      clientId: this.identity?.clientId,
      bufferedBytes: this.transport.bufferedAmount,
      maxOutboundBytes: this.#settings.maxOutboundBytes
    }, 'peer does not read its frames: outbound budget exceeded, closing')
    this.transport.close(CloseCode.PolicyViolation, 'outbound budget exceeded')
    this.timer(OVER_BUDGET_GRACE_MS, () => this.transport.terminate())
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

  /** Marks a pong (frames are counted and timed by the protocol). */
  seen (): void {
    this.#seenAt = this.#settings.now() - this.#settings.origin
    this.#pongs++
  }

  /** Frames and pongs received so far. */
  get #activity (): number {
    return this.#pongs + this.protocol.framesReceived
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
