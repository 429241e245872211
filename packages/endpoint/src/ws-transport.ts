import { performance } from 'node:perf_hooks'
import { setImmediate as atTurnEnd } from 'node:timers'
import WebSocket, { type ClientOptions } from 'ws'
import { receiveClose, receiveError, receiveFrame, type CloseInfo, type Transport, type TransportEvents, type TransportReceiver } from './transport.js'
import { TransportClosedError, connectError } from './errors.js'

// The transport of a socket, and the transport's methods its socket listeners call (internal).
const kTransport = Symbol('aip.wsTransport')
const deliverFrame = Symbol('aip.wsTransport.frame')
const deliverEvent = Symbol('aip.wsTransport.event')
const deliverClose = Symbol('aip.wsTransport.close')
const localClose = Symbol('aip.wsTransport.localClose')

// The flags of a transport (`#flags`).
/** The socket has closed (the close was delivered). */
const CLOSED = 1
/** This side called `close()` or `terminate()`. */
const LOCAL_CLOSE = 2
/** The socket's `pong` is listened to. */
const PONG_HEARD = 4

/**
 * A {@link Transport} over a `ws` WebSocket: an accepted server-side socket, or a client socket from
 * {@link connectWebSocket}. Listeners are attached at construction, so no frame is lost while the endpoint sets
 * itself up. The first frame since the event loop last waited with nothing ready is written at once; the frames
 * after it leave together, in one write, when their event-loop turn ends.
 */
export class WebSocketTransport implements Transport {
  readonly socket: WebSocket
  /**
   * Listeners by event, made on the first `on()` (a server's connection usually has none: its protocol is the
   * receiver): the listener itself when it is the only one, else an array of the exact size. Same rules as
   * `TypedEmitter`: called in the order added, a listener added twice is called once, one that throws does not
   * stop the others (its error is dropped), and an emit calls the listeners present when it started (arrays are
   * copied on write).
   */
  // These fields change after the transport is made. Each is written in the constructor, not by an initialiser: V8
  // takes a field that was only ever initialised for a constant, and the first later write (the process's first
  // closed socket) would throw away the compiled code of every function that relied on it.
  #listeners: Record<string, Listener | Listener[] | undefined> | null
  #receiver: TransportReceiver | null
  /** {@link CLOSED}, {@link LOCAL_CLOSE} and {@link PONG_HEARD}: one small integer for the three flags. */
  #flags: number
  /** The `onError` of the last `post`, and the write callback made for it. */
  #postOnError: ((err: Error) => void) | null
  #postDone: ((err?: Error | null) => void) | null
  /** The event loop's idle time when this transport last sent a frame (see {@link WebSocketTransport.#hold}). */
  #idleMark: number

  constructor (socket: WebSocket) {
    this.socket = socket
    this.#listeners = null
    this.#receiver = null
    this.#flags = 0
    this.#postOnError = null
    this.#postDone = null
    this.#idleMark = -1
    // Functions shared by every transport (the socket is `this` in them) find the transport through the socket:
    // no closure per connection.
    ;(socket as SocketWithTransport)[kTransport] = this
    socket.on('message', onSocketMessage)
    socket.on('error', onSocketError)
    socket.on('close', onSocketClose)
    if (socket.readyState >= WebSocket.CLOSING) queueMicrotask(() => this.#finish({ code: 1006, reason: '', local: false }))
  }

  get isOpen (): boolean {
    return (this.#flags & CLOSED) === 0 && this.socket.readyState === WebSocket.OPEN
  }

  get bufferedAmount (): number {
    return this.socket.bufferedAmount
  }

  send (data: string | Uint8Array): Promise<void> {
    if (!this.isOpen) return Promise.reject(new TransportClosedError())
    return new Promise((resolve, reject) => {
      this.#hold()
      this.socket.send(data, { binary: typeof data !== 'string' }, (err) => {
        if (err == null) resolve()
        else reject(new TransportClosedError())
      })
    })
  }

  /**
   * `send` without the promise, for a sender that does not wait for the write: false when the transport is not
   * open; otherwise `onError` is called if the write fails (the socket's close follows).
   */
  post (data: string | Uint8Array, onError?: (err: Error) => void): boolean {
    if (!this.isOpen) return false
    this.#hold()
    // Without `onError`, no write callback: a write that completes at once then schedules nothing after it.
    if (onError === undefined) {
      this.socket.send(data, typeof data === 'string' ? TEXT : BINARY)
      return true
    }
    // One write callback per `onError` (a sender passes the same one for every frame): no closure per frame.
    if (onError !== this.#postOnError) {
      this.#postOnError = onError
      this.#postDone = (err?: Error | null) => {
        if (err != null) onError(new TransportClosedError())
      }
    }
    this.socket.send(data, typeof data === 'string' ? TEXT : BINARY, this.#postDone as (err?: Error) => void)
    return true
  }

  close (code = 1000, reason = ''): void {
    if ((this.#flags & CLOSED) !== 0) return
    this.#flags |= LOCAL_CLOSE
    try {
      this.socket.close(code, truncateReason(reason))
    } catch {
      this.socket.terminate()
    }
  }

  terminate (): void {
    if ((this.#flags & CLOSED) !== 0) return
    this.#flags |= LOCAL_CLOSE
    // Frames sent earlier in this turn still leave, as they would have without write coalescing.
    releaseWrites(this.socket)
    this.socket.terminate()
  }

  ping (): void {
    if (this.isOpen) this.socket.ping()
  }

  /** Makes `receiver` the primary consumer of frames and of the close (see `Transport.setReceiver`). */
  setReceiver (receiver: TransportReceiver | null): void {
    this.#receiver = (this.#flags & CLOSED) !== 0 ? null : receiver
  }

  on<E extends keyof TransportEvents>(event: E, listener: (payload: TransportEvents[E]) => void): () => void {
    const added = listener as Listener
    const lists = (this.#listeners ??= {})
    const present = lists[event]
    // The socket's 'pong' is listened to only once someone asks (a server without pings never does).
    if (event === 'pong' && (this.#flags & PONG_HEARD) === 0) {
      this.#flags |= PONG_HEARD
      this.socket.on('pong', onSocketPong)
    }
    // Copy on write: arrays of the exact size, and an emit in progress keeps the list it started with.
    if (present === undefined) lists[event] = added
    else if (typeof present === 'function') {
      if (present !== added) lists[event] = [present, added]
    } else if (!present.includes(added)) lists[event] = [...present, added]
    return () => {
      const current = lists[event]
      if (current === added) {
        lists[event] = undefined
      } else if (Array.isArray(current) && current.includes(added)) {
        const rest = current.filter((l) => l !== added)
        lists[event] = rest.length === 1 ? rest[0] : rest
      }
    }
  }

  /** Internal: a frame from the socket (text already checked as UTF-8 by `ws`, which closes with 1007 otherwise). */
  [deliverFrame] (data: string | Buffer): void {
    const receiver = this.#receiver
    if (receiver !== null) receiver[receiveFrame](data)
    if (this.#listeners !== null) this.#emit('message', data)
  }

  /** Internal: an event of the socket. */
  [deliverEvent]<E extends 'error' | 'pong'>(event: E, payload: TransportEvents[E]): void {
    if (event === 'error') {
      const receiver = this.#receiver
      if (receiver?.[receiveError] !== undefined) {
        try { receiver[receiveError](payload as Error) } catch {}
      }
    }
    if (this.#listeners !== null) this.#emit(event, payload)
  }

  /** Internal: the socket has closed. */
  [deliverClose] (info: CloseInfo): void {
    this.#finish(info)
  }

  get [localClose] (): boolean {
    return (this.#flags & LOCAL_CLOSE) !== 0
  }

  /**
   * Write coalescing, only where there is something to coalesce. The first frame this connection gets since the
   * event loop last waited with nothing ready is written at once (at light load every frame is such a frame:
   * nothing would join it, and holding it cost an immediate and a flush); the frames after it until the loop waits
   * again — several in one turn, or a busy loop that always has I/O ready, as under load — are held and leave
   * together at the end of their turn (see `holdWrites`). The loop's idle time (libuv's metrics) grows only while
   * it waits, so an unchanged reading means no wait since the last frame; where it is not kept (always 0), every
   * frame after a connection's first is held, as before. Order is unchanged either way: a held frame joins the
   * socket's buffer behind the frames written before it.
   */
  #hold (): void {
    const idle = loopTiming.idleTime
    if (idle !== this.#idleMark) {
      this.#idleMark = idle
      return
    }
    holdWrites(this.socket)
  }

  #emit<E extends keyof TransportEvents>(event: E, payload: TransportEvents[E]): void {
    const present = (this.#listeners as Record<string, Listener | Listener[] | undefined>)[event]
    if (present === undefined) return
    if (typeof present === 'function') {
      try { (present as (payload: TransportEvents[E]) => void)(payload) } catch {}
      return
    }
    for (let i = 0; i < present.length; i++) {
      try { (present[i] as (payload: TransportEvents[E]) => void)(payload) } catch {}
    }
  }

  #finish (info: CloseInfo): void {
    if ((this.#flags & CLOSED) !== 0) return
    this.#flags |= CLOSED
    const receiver = this.#receiver
    this.#receiver = null
    if (receiver !== null) {
      try { receiver[receiveClose](info) } catch {}
    }
    if (this.#listeners !== null) {
      this.#emit('close', info)
      this.#listeners = null
    }
  }
}

type SocketWithTransport = WebSocket & { [kTransport]?: WebSocketTransport }

function transportOf (socket: WebSocket): WebSocketTransport | undefined {
  return (socket as SocketWithTransport)[kTransport]
}

// The socket's listeners, shared by every transport: `ws` calls them with the socket as `this`.
function onSocketMessage (this: WebSocket, data: WebSocket.RawData, isBinary: boolean): void {
  const buffer = toBuffer(data)
  transportOf(this)?.[deliverFrame](isBinary ? buffer : buffer.toString('utf8'))
}

function onSocketError (this: WebSocket, err: Error): void {
  transportOf(this)?.[deliverEvent]('error', err)
}

function onSocketPong (this: WebSocket): void {
  transportOf(this)?.[deliverEvent]('pong', undefined)
}

function onSocketClose (this: WebSocket, code: number, reason: Buffer): void {
  const transport = transportOf(this)
  transport?.[deliverClose]({ code, reason: reason.toString('utf8'), local: transport[localClose] })
}

type Listener = (payload: never) => void

/** The network socket under a `ws` WebSocket (its `_socket`, set once the handshake is done). */
interface NetSocket { cork: () => void, uncork: () => void, readonly writableCorked: number }

function netSocketOf (ws: WebSocket): NetSocket | undefined {
  const raw = (ws as unknown as { _socket?: NetSocket | null })._socket
  return raw != null && typeof raw.cork === 'function' ? raw : undefined
}

/** The loop's timing, bound at load: fake timers installed later on the globals do not change it. */
const loopTiming = performance.nodeTiming

/** Sockets holding back their writes until the end of this event-loop turn. */
let held: NetSocket[] = []

function flushHeld (): void {
  const sockets = held
  held = []
  for (const socket of sockets) socket.uncork()
}

/**
 * Write coalescing: the frames sent to one connection during one event-loop turn (after its first, see
 * `WebSocketTransport.#hold`) leave together, in one write (one system call, one TCP segment when they fit) when
 * the turn ends, rather than one write each. A server answering many tasks of one peer at once writes several
 * times less often; order is unchanged, and no frame waits past the turn it was sent in (the flush is a
 * `setImmediate`).
 */
function holdWrites (ws: WebSocket): void {
  const raw = netSocketOf(ws)
  if (raw === undefined || raw.writableCorked > 0) return
  raw.cork()
  // From node:timers, bound at load: fake timers installed later on the globals do not hold frames back.
  if (held.push(raw) === 1) atTurnEnd(flushHeld)
}

/** Writes what {@link holdWrites} held for `ws` now (before the socket is destroyed, which would drop it). */
function releaseWrites (ws: WebSocket): void {
  const raw = netSocketOf(ws)
  if (raw === undefined) return
  for (let i = raw.writableCorked; i > 0; i--) raw.uncork()
}

const TEXT = { binary: false }
const BINARY = { binary: true }

function toBuffer (data: WebSocket.RawData): Buffer {
  if (Buffer.isBuffer(data)) return data
  if (Array.isArray(data)) return Buffer.concat(data)
  return Buffer.from(data)
}

/** A close reason is at most 123 bytes of UTF-8; longer ones are cut on a character boundary. */
export function truncateReason (reason: string): string {
  if (Buffer.byteLength(reason) <= 123) return reason
  let cut = reason.slice(0, 123)
  while (Buffer.byteLength(cut) > 123) cut = cut.slice(0, -1)
  return cut
}

/** Options of {@link connectWebSocket}. */
export interface ConnectOptions extends Omit<ClientOptions, 'signal'> {
  /** Abort the connection attempt. */
  signal?: AbortSignal
  /** Give up the handshake after this long. Default 10000 ms. */
  handshakeTimeoutMs?: number
}

/**
 * Opens a client WebSocket and resolves with its transport once it is open. Rejects with `AIP_ERR_ENDPOINT_CONNECT`
 * carrying the HTTP status when the server refuses the upgrade (401, 403, ...).
 */
export function connectWebSocket (url: string, options: ConnectOptions = {}): Promise<WebSocketTransport> {
  const { signal, handshakeTimeoutMs = 10_000, ...wsOptions } = options
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(connectError(url, 'aborted', undefined))
      return
    }
    const socket = new WebSocket(url, { ...wsOptions, handshakeTimeout: handshakeTimeoutMs })
    // Wrap at once so that a frame sent right after the handshake is not lost.
    const transport = new WebSocketTransport(socket)
    let statusCode: number | undefined
    const onAbort = (): void => { socket.terminate() }
    signal?.addEventListener('abort', onAbort, { once: true })
    const cleanup = (): void => {
      signal?.removeEventListener('abort', onAbort)
      socket.off('open', onOpen)
      socket.off('error', onError)
      socket.off('unexpected-response', onUnexpected)
    }
    const onOpen = (): void => {
      cleanup()
      resolve(transport)
    }
    const onError = (err: Error): void => {
      cleanup()
      reject(connectError(url, signal?.aborted === true ? 'aborted' : err.message, statusCode))
    }
    const onUnexpected = (_req: unknown, res: { statusCode?: number, resume: () => void }): void => {
      statusCode = res.statusCode
      res.resume()
      cleanup()
      socket.terminate()
      reject(connectError(url, `the server refused the upgrade with HTTP ${String(statusCode)}`, statusCode))
    }
    socket.once('open', onOpen)
    socket.once('error', onError)
    socket.once('unexpected-response', onUnexpected)
  })
}
