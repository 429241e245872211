import { setImmediate as atTurnEnd } from 'node:timers'
import WebSocket, { type ClientOptions } from 'ws'
import type { CloseInfo, Transport, TransportEvents } from './transport.js'
import { TransportClosedError, connectError } from './errors.js'

/**
 * A {@link Transport} over a `ws` WebSocket: an accepted server-side socket, or a client socket from
 * {@link connectWebSocket}. Listeners are attached at construction, so no frame is lost while the endpoint sets
 * itself up. Frames sent during one event-loop turn leave together, in one write, when the turn ends.
 */
export class WebSocketTransport implements Transport {
  readonly socket: WebSocket
  /**
   * Listeners by event: the listener itself when it is the only one, else an array of the exact size. A server
   * holds one transport per connection for the connection's lifetime, and a Map of Sets costs about 1 KB per
   * transport. Same rules as `TypedEmitter`: called in the order added, a listener added twice is called once, one
   * that throws does not stop the others (its error is dropped), and an emit calls the listeners present when it
   * started (arrays are copied on write).
   */
  #listeners: Record<string, Listener | Listener[] | undefined> = {}
  #closed = false
  #localClose = false
  #pongHeard = false

  constructor (socket: WebSocket) {
    this.socket = socket
    socket.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
      // ws has already checked that a text frame is valid UTF-8 (it closes with 1007 otherwise).
      this.#emit('message', isBinary ? toBuffer(data) : toBuffer(data).toString('utf8'))
    })
    socket.on('error', (err: Error) => this.#emit('error', err))
    socket.on('close', (code: number, reason: Buffer) => this.#finish({ code, reason: reason.toString('utf8'), local: this.#localClose }))
    if (socket.readyState >= WebSocket.CLOSING) queueMicrotask(() => this.#finish({ code: 1006, reason: '', local: false }))
  }

  get isOpen (): boolean {
    return !this.#closed && this.socket.readyState === WebSocket.OPEN
  }

  get bufferedAmount (): number {
    return this.socket.bufferedAmount
  }

  send (data: string | Uint8Array): Promise<void> {
    if (!this.isOpen) return Promise.reject(new TransportClosedError())
    return new Promise((resolve, reject) => {
      holdWrites(this.socket)
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
  post (data: string | Uint8Array, onError: (err: Error) => void): boolean {
    if (!this.isOpen) return false
    holdWrites(this.socket)
    this.socket.send(data, typeof data === 'string' ? TEXT : BINARY, (err) => {
      if (err != null) onError(new TransportClosedError())
    })
    return true
  }

  close (code = 1000, reason = ''): void {
    if (this.#closed) return
    this.#localClose = true
    try {
      this.socket.close(code, truncateReason(reason))
    } catch {
      this.socket.terminate()
    }
  }

  terminate (): void {
    if (this.#closed) return
    this.#localClose = true
    // Frames sent earlier in this turn still leave, as they would have without write coalescing.
    releaseWrites(this.socket)
    this.socket.terminate()
  }

  ping (): void {
    if (this.isOpen) this.socket.ping()
  }

  on<E extends keyof TransportEvents>(event: E, listener: (payload: TransportEvents[E]) => void): () => void {
    const added = listener as Listener
    const present = this.#listeners[event]
    // The socket's 'pong' is listened to only once someone asks (a server without pings never does).
    if (event === 'pong' && !this.#pongHeard) {
      this.#pongHeard = true
      this.socket.on('pong', () => this.#emit('pong', undefined))
    }
    // Copy on write: arrays of the exact size, and an emit in progress keeps the list it started with.
    if (present === undefined) this.#listeners[event] = added
    else if (typeof present === 'function') {
      if (present !== added) this.#listeners[event] = [present, added]
    } else if (!present.includes(added)) this.#listeners[event] = [...present, added]
    return () => {
      const current = this.#listeners[event]
      if (current === added) {
        this.#listeners[event] = undefined
      } else if (Array.isArray(current) && current.includes(added)) {
        const rest = current.filter((l) => l !== added)
        this.#listeners[event] = rest.length === 1 ? rest[0] : rest
      }
    }
  }

  #emit<E extends keyof TransportEvents>(event: E, payload: TransportEvents[E]): void {
    const present = this.#listeners[event] as Listener | Listener[] | undefined
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
    if (this.#closed) return
    this.#closed = true
    this.#emit('close', info)
    this.#listeners = {}
  }
}

type Listener = (payload: never) => void

/** The network socket under a `ws` WebSocket (its `_socket`, set once the handshake is done). */
interface NetSocket { cork: () => void, uncork: () => void, readonly writableCorked: number }

function netSocketOf (ws: WebSocket): NetSocket | undefined {
  const raw = (ws as unknown as { _socket?: NetSocket | null })._socket
  return raw != null && typeof raw.cork === 'function' ? raw : undefined
}

/** Sockets holding back their writes until the end of this event-loop turn. */
let held: NetSocket[] = []

function flushHeld (): void {
  const sockets = held
  held = []
  for (const socket of sockets) socket.uncork()
}

/**
 * Write coalescing: the frames sent to one connection during one event-loop turn leave together, in one write
 * (one system call, one TCP segment when they fit) when the turn ends, rather than one write each. A server
 * answering many tasks of one peer at once writes several times less often; order is unchanged, and no frame waits
 * past the turn it was sent in (the flush is a `setImmediate`).
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
