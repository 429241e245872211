import type { Logger, Unsubscribe } from '@aip/resilience'
import { TransportClosedError, UnexpectedBinaryError } from '../errors.js'
import { childLogger } from '../logger.js'
import { CloseCode, bindReceiver, receiveClose, receiveError, receiveFrame, type CloseInfo, type Transport, type TransportReceiver } from '../transport.js'
import { decodeFrame, decodeOther, encodeFrame, postFrame } from './frame.js'
import { runIncoming, runOutgoing } from './middleware.js'
import { TransferReassembler, type ReceivedBinary, type ReceivedFile, type TransferErrorEvent } from './transfer-receive.js'
import { createTransferLink, sendBinary, sendFile, type TransferLink } from './transfer-send.js'
import type {
  AnyMessage, BinaryMetadataInput, FileSource, IncomingMessage, IncomingType, MessageHandler, OutgoingMessage,
  PostOptions, ProtocolEvents, ProtocolMiddleware, ProtocolOptions, ProtocolRole, ReceiveOptions, ReceiveTransferOptions,
  ResolvedProtocolOptions, SendFileOptions, SendOptions, SentFile
} from './types.js'
import { countFrame, enqueueJob, jobFailed } from './inbox.js'
import { Outbox, queueWrite } from './outbox.js'
import { Listeners } from './listeners.js'
import { resolveProtocolOptions } from './options.js'
import { EXTRA_FIELDS, bindOwner, runWithOwner, type ProtocolOwner } from './owner.js'
import { RareState } from './rare.js'
import type { WaiterKind } from './waiters.js'

export type * from './types.js'
export { rechunk } from './transfer-send.js'
export { isResolvedProtocolOptions, resolveProtocolOptions } from './options.js'
export { bindOwner, extraFieldsOf, type ProtocolOwner } from './owner.js'

const noop = (): void => {}

// The flags of a protocol (`#flags`).
/** `close()` was called or the close was handled. */
const CLOSED = 1
/** The transport has closed (its close is queued behind the frames received before it). */
const TRANSPORT_CLOSED = 2
/** The close was handled (the owner and the `close` listeners were told). */
const CLOSE_HANDLED = 4

/**
 * The AIP protocol engine over one {@link Transport}: encodes and sends messages through outgoing middleware,
 * decodes incoming frames strictly in order, runs incoming middleware, and dispatches each message to the
 * handlers of its type. It also sends and reassembles binary payloads and chunked files.
 *
 * Decoding never throws: a bad frame becomes an `invalidFrame` event. A handler that throws becomes an `error`
 * event. Handlers are awaited one after another, so a handler must not await `receive()` of a later message.
 */
export class AIPProtocol<R extends ProtocolRole = ProtocolRole> extends Outbox implements TransportReceiver {
  /** The validated options, frozen. */
  readonly options: ResolvedProtocolOptions<R>
  /** The connection this protocol runs on. */
  readonly transport: Transport
  // The fields below change after the protocol is made (at the close at the latest). Each is written in the
  // constructor, not by an initialiser: V8 takes a field that was only ever initialised for a constant, and the
  // process's first closed connection would throw away the compiled code of the connect path that relied on it.
  /** Whatever most connections never use (handlers, waiters, transfers, the close promise...), made on first use. */
  #rareState: RareState<R> | undefined
  #events: Listeners<ProtocolEvents<R>, AIPProtocol<R>> | undefined
  /** Middleware of this protocol; the frozen shared list of the options until `use()` changes it. */
  #middleware: readonly ProtocolMiddleware[]
  #owner: ProtocolOwner<R> | null
  #ownerKey: string
  /** Length of the text frame whose message the handlers are running for. */
  #frameLength: number
  /** {@link CLOSED}, {@link TRANSPORT_CLOSED} and {@link CLOSE_HANDLED}: one small integer for the three flags. */
  #flags: number
  /** What the owner of this connection keeps with it (a server: its connection record); `undefined` until set. */
  data: unknown

  /**
   * @param transport - an open connection; listeners are attached at once, so no frame is lost
   * @param options - the role and limits; validated here (`AIP_ERR_INVALID_OPTION`) unless they come from
   * {@link resolveProtocolOptions}, which is how many protocols share one validated, frozen object
   */
  constructor (transport: Transport, options: ProtocolOptions<R> | ResolvedProtocolOptions<R>) {
    super()
    this.options = resolveProtocolOptions(options)
    this.#middleware = this.options.middleware
    this.transport = transport
    this.#rareState = undefined
    this.#events = undefined
    this.#owner = null
    this.#ownerKey = ''
    this.#frameLength = 0
    this.#flags = 0
    this.data = undefined
    // Frames and the close come by method call where the transport allows it: no listener closure per connection.
    const off = bindReceiver(transport, this)
    if (!transport.isOpen) {
      // A transport drops its listeners after its `close`: the removers are needed only when that may have passed.
      if (off !== undefined) this.#rare.offTransport = off
      transport.setReceiver?.(null)
      this.#flags |= CLOSED
      const info = { code: CloseCode.Abnormal, reason: '', local: false }
      queueMicrotask(() => { this[receiveClose](info) })
    }
  }

  /** Internal: a frame of the transport (its receiver method, or its `message` listener). */
  [receiveFrame] (data: string | Buffer): void {
    this[countFrame](this.options.clock)
    this.#enqueueFrame(data)
  }

  /** Internal: the transport has closed; handled after the frames received before it (the owner is told at once). */
  [receiveClose] (info: CloseInfo): void {
    if ((this.#flags & TRANSPORT_CLOSED) !== 0) return
    this.#flags |= TRANSPORT_CLOSED
    const owner = this.#owner
    const key = this.#ownerKey
    this[enqueueJob](() => { this.#handleClose(info); return undefined })
    if (owner !== null) this.#toOwner('close', () => { owner.ownerTransportClosed(info, key, this) })
  }

  /** Internal: a transport error (its close follows). */
  [receiveError] (err: Error): void {
    this.#log.debug({ err }, 'transport error')
  }

  /** Internal: a job of the inbox threw or rejected (logged; the inbox goes on). */
  protected override [jobFailed] (err: unknown, what: string): void {
    this.#log.error({ err }, what)
  }

  static #listenerFailed<P extends ProtocolRole> (protocol: AIPProtocol<P>, err: unknown, event: unknown): void {
    protocol.#log.error({ err, event }, 'protocol event listener threw')
  }

  static #handlerFailed<P extends ProtocolRole> (protocol: AIPProtocol<P>, error: unknown, incoming: AnyMessage): void {
    protocol.#log.warn({ err: error, type: incoming.type, sessionId: incoming.session_id }, 'message handler threw')
    protocol.#emit('error', { error, context: 'handler', message: incoming as IncomingMessage<P> })
  }

  /** True once `close()` was called or the close was handled: nothing more is handled. */
  get #isClosed (): boolean {
    return (this.#flags & CLOSED) !== 0
  }

  get #log (): Logger {
    const rare = this.#rare
    return (rare.logger ??= childLogger(this.options.logger, { component: 'aip-protocol', role: this.options.role }))
  }

  get #rare (): RareState<R> {
    return (this.#rareState ??= new RareState())
  }

  /** The view of this protocol the transfer senders use. */
  get #link (): TransferLink {
    return (this.#rare.link ??= createTransferLink(this, (job) => this[queueWrite](job)))
  }

  get #transfers (): TransferReassembler {
    return (this.#rare.reassembler ??= new TransferReassembler(this.options, {
      binary: (received) => this.#deliver('binary', received), file: (received) => this.#deliver('file', received), error: (event) => this.#transferFailed(event)
    }))
  }

  /** True while the connection is open and `close()` was not called. */
  get isOpen (): boolean {
    return (this.#flags & CLOSED) === 0 && this.transport.isOpen
  }

  /** Resolves once the connection has closed and every frame received before the close was handled. */
  get closed (): Promise<CloseInfo> {
    const rare = this.#rare
    return rare.closed(rare.closeInfo)
  }

  /** Number of callers waiting in `receive()`, `receiveBinary()` or `receiveFile()`. */
  get waiterCount (): number {
    return this.#rareState?.waiters?.size ?? 0
  }

  /** Frames received and not handled yet (the one being handled included). */
  get queuedFrames (): number {
    return this.inboxLength
  }

  /**
   * The length (UTF-16 code units) of the text frame whose message the handlers are running for: read it at the
   * start of a handler, before it awaits (a server charges a client for the frames of its running tasks).
   */
  get frameLength (): number {
    return this.#frameLength
  }

  /** Files being received (started, not completed). */
  get openTransfers (): number {
    return this.#rareState?.reassembler?.openCount ?? 0
  }

  /** Subscribes to an event; returns the function that unsubscribes. */
  on<E extends keyof ProtocolEvents<R>>(event: E, listener: (payload: ProtocolEvents<R>[E]) => void): Unsubscribe {
    this.#events ??= new Listeners<ProtocolEvents<R>, AIPProtocol<R>>(this, AIPProtocol.#listenerFailed)
    return this.#events.on(event, listener)
  }

  /** Adds a middleware at the end of the chain; returns the function that removes it. */
  use (middleware: ProtocolMiddleware): Unsubscribe {
    // The shared frozen list of the options is copied on the first change.
    if (this.#middleware === this.options.middleware) this.#middleware = [...this.#middleware]
    const list = this.#middleware as ProtocolMiddleware[]
    list.push(middleware)
    return () => {
      const at = list.indexOf(middleware)
      if (at !== -1) list.splice(at, 1)
    }
  }

  /** Registers a handler for one message type; returns the function that removes it. */
  onMessage (type: IncomingType<R>, handler: MessageHandler<R>): Unsubscribe {
    return this.#rare.addHandler(type, handler)
  }

  /** Registers a handler for every message, called after the handlers of its type; returns the remover. */
  onAnyMessage (handler: MessageHandler<R>): Unsubscribe {
    return this.#rare.addAnyHandler(handler)
  }

  /**
   * Binds the endpoint that owns this protocol (`null`: unbinds it). Internal to this package: an endpoint calls
   * it once, right after construction, so that its handler comes before any other `onAnyMessage` handler.
   */
  [bindOwner] (owner: ProtocolOwner<R> | null, key = ''): void {
    this.#owner = owner
    this.#ownerKey = key
    if (this.#rareState !== undefined) this.#rareState.ownerHandler = undefined
  }

  /**
   * Sends a message: outgoing middleware in registration order, then the reference wire form. Sends are written
   * in call order. Rejects with `AIP_ERR_ENDPOINT_TRANSPORT_CLOSED` when closed, with
   * `AIP_ERR_PROTOCOL_INVALID_ARGUMENT` for a message the reference would reject, or with a middleware's error.
   */
  send (message: OutgoingMessage<R>, options: SendOptions = {}): Promise<void> {
    if (!this.isOpen) return Promise.reject(new TransportClosedError())
    return this[queueWrite](async () => {
      const current = this.#middleware.length === 0 ? message : await runOutgoing([...this.#middleware], message)
      if (current === null) return
      const frame = encodeFrame(this.options.role, current, { extra: options.extra ?? null })
      await this.transport.send(frame)
      this.#emit('sent', { message: current as OutgoingMessage<R>, bytes: Buffer.byteLength(frame) })
    })
  }

  /**
   * Sends a message without a promise, for senders that do not wait for the write (a server's hot path). When no
   * middleware is installed and no earlier send is still in flight, the frame is encoded and written at once;
   * otherwise it goes through {@link AIPProtocol.send}, keeping the order of the calls. Returns false when the
   * connection is closed (nothing is sent). A failed write is passed to `onError` (never thrown).
   * @throws `AIP_ERR_PROTOCOL_INVALID_ARGUMENT` (synchronously) for a message the reference would reject, when
   * it is validated
   */
  post (message: OutgoingMessage<R>, options: PostOptions = {}): boolean {
    if (!this.isOpen) return false
    // No `onError`: nothing waits for the write (the transport writes without a callback).
    const onError = options.onError
    if (this.#middleware.length > 0 || this.writesInFlight) {
      this.send(message, options).catch(onError ?? noop)
      return true
    }
    // The options are the encoder's as they are (an absent `extra` is none, an absent `validate` is true): no copy per frame.
    const frame = options.encoded ?? encodeFrame(this.options.role, message, options)
    if (!postFrame(this.transport, frame, onError)) return false
    if (this.#events !== undefined && this.#events.count('sent') > 0) this.#events.emit('sent', { message, bytes: Buffer.byteLength(frame) })
    return true
  }

  /**
   * {@link AIPProtocol.post} of a frame already encoded whose message is made only if something reads it: outgoing
   * middleware, an earlier send still in flight (the frame then goes through {@link AIPProtocol.send} in call order),
   * or a `sent` listener. Otherwise `encoded` is written as it is and `message` is never called, so a server relaying
   * a frame another process encoded need not parse it. `message` is called at most once and must give the message
   * `encoded` is the wire form of; it is not validated. Returns false when the connection is closed (nothing is sent).
   */
  postEncoded (encoded: string, message: () => OutgoingMessage<R>, options: Omit<PostOptions, 'encoded' | 'validate'> = {}): boolean {
    if (!this.isOpen) return false
    const onError = options.onError
    if (this.#middleware.length > 0 || this.writesInFlight) {
      this.send(message(), options).catch(onError ?? noop)
      return true
    }
    if (!postFrame(this.transport, encoded, onError)) return false
    if (this.#events !== undefined && this.#events.count('sent') > 0) this.#events.emit('sent', { message: message(), bytes: Buffer.byteLength(encoded) })
    return true
  }

  /**
   * Waits for the next message of `type` (`'*'`: of any type) that passes `filter`. The waiter is registered
   * before this returns, so a message that arrives right after a `send()` is not missed. Handlers still see the
   * message. Rejects with `AIP_ERR_TIMEOUT`, `AIP_ERR_ABORTED`, or
   * `AIP_ERR_ENDPOINT_TRANSPORT_CLOSED` when the connection closes first.
   */
  receive (type: IncomingType<R> | '*', options: ReceiveOptions<R> = {}): Promise<IncomingMessage<R>> {
    return this.#rare.waitMessage(type, options, this.#isClosed)
  }

  /** Waits for the next binary payload (or the one of `transferId`); rejects on its transfer error. */
  receiveBinary (options: ReceiveTransferOptions = {}): Promise<ReceivedBinary> {
    return this.#rare.waitTransfer('binary', options, this.#isClosed) as Promise<ReceivedBinary>
  }

  /** Waits for the next complete file (or the one of `transferId`); rejects on its transfer error. */
  receiveFile (options: ReceiveTransferOptions = {}): Promise<ReceivedFile> {
    return this.#rare.waitTransfer('file', options, this.#isClosed) as Promise<ReceivedFile>
  }

  /**
   * Sends one binary payload: a `binary_data` metadata text frame (with `size`, the MD5 `checksum` and our
   * `transfer_id`), then the bytes as one binary frame, with nothing in between. Resolves with the transfer id.
   * Never send this to a Python peer that does not expect it (reference bug B17).
   */
  async sendBinary (data: Uint8Array, metadata: BinaryMetadataInput = {}): Promise<string> {
    return await sendBinary(this.#link, data, metadata)
  }

  /**
   * Sends a file in chunks, in the reference's frame sequence: `file_transfer_start`, then for each chunk a
   * `binary_data` metadata frame (`chunk_num`, `chunk_size`) and a binary frame, then `file_transfer_complete`
   * with the MD5 (hex) of the whole file. Every frame carries our `transfer_id`. A stream that yields more or
   * fewer bytes than `size` rejects with `AIP_ERR_ENDPOINT_TRANSFER_SIZE`; the completion frame then carries our
   * `aborted` key instead of a checksum, and our receiver drops the transfer (`AIP_ERR_ENDPOINT_TRANSFER_ABORTED`).
   */
  async sendFile (source: FileSource, options: SendFileOptions): Promise<SentFile> {
    return await sendFile(this.#link, source, options)
  }

  /**
   * Closes the connection (code 1000 by default) and releases every waiter at once with
   * `AIP_ERR_ENDPOINT_TRANSPORT_CLOSED`. Frames not yet handled are dropped. Idempotent.
   */
  close (code?: number, reason?: string): void {
    this.#shutdown()
    this.transport.close(code, reason)
  }

  #emit<E extends keyof ProtocolEvents<R>>(event: E, payload: ProtocolEvents<R>[E]): void {
    this.#events?.emit(event, payload)
  }

  #enqueueFrame (data: string | Buffer): void {
    if (this.inboxLength >= this.options.maxQueuedFrames) {
      const event = { queued: this.inboxLength }
      const owner = this.#owner
      if (owner !== null) this.#toOwner('queueFull', () => { owner.ownerQueueFull(event, this.#ownerKey, this) })
      this.#emit('queueFull', event)
      return
    }
    this[enqueueJob](() => this.#process(data))
  }

  /** Decodes one frame (the one place a frame is decoded) and hands its message over; synchronous when it can be. */
  #process (data: string | Buffer): Promise<void> | undefined {
    if (this.#isClosed) return
    if (typeof data !== 'string') {
      if (!this.options.acceptTransfers || !this.#transfers.binary(data)) {
        this.#invalidFrame({ error: new UnexpectedBinaryError(data.length), bytes: data.length })
      }
      return
    }
    const limits = { maxBytes: this.options.maxFrameBytes }
    const decoded = decodeFrame(this.options.role, data, limits)
    if (!decoded.ok) {
      const other = decodeOther(data, limits.maxBytes, this.options.acceptTransfers, decoded.error, decoded.correlation)
      if (other.control !== undefined) this.#transfers.control(other.control)
      else this.#invalidFrame(other.invalid)
      return
    }
    if (decoded.extra !== null) EXTRA_FIELDS.set(decoded.value, decoded.extra)
    if (this.#middleware.length === 0) return this.#handle(decoded.value as IncomingMessage<R>, data)
    const onError = (error: unknown, message: AnyMessage): void => {
      AIPProtocol.#middlewareFailed(this, error, message)
    }
    return runIncoming([...this.#middleware], decoded.value, onError).then((message) => {
      if (message !== null) return this.#handle(message as IncomingMessage<R>, data)
    })
  }

  #invalidFrame (event: ProtocolEvents<R>['invalidFrame']): void {
    const owner = this.#owner
    if (owner !== null) this.#toOwner('invalidFrame', () => { owner.ownerInvalidFrame(event, this.#ownerKey, this) })
    this.#emit('invalidFrame', event)
  }

  /** Hands an event to the owner (rare events only: a closure per call); a throw is logged like a listener's. */
  #toOwner (event: string, call: () => void): void {
    try { call() } catch (err) { AIPProtocol.#listenerFailed(this, err, event) }
  }

  /** Emits `received`, wakes the waiters, then runs the handlers one after another (synchronously while they are). */
  #handle (incoming: IncomingMessage<R>, data: string): Promise<void> | undefined {
    if (this.#isClosed) return
    if (this.#events !== undefined && this.#events.count('received') > 0) {
      this.#events.emit('received', { message: incoming, bytes: Buffer.byteLength(data) })
    }
    this.#deliver('message', incoming)
    this.#frameLength = data.length
    return runWithOwner(this.#rareState, this.#owner, this.#ownerKey, incoming, this, AIPProtocol.#handlerFailed)
  }

  #deliver (kind: WaiterKind, payload: unknown): void {
    if (kind === 'binary') this.#emit('binary', payload as ReceivedBinary)
    else if (kind === 'file') this.#emit('file', payload as ReceivedFile)
    this.#rareState?.waiters?.deliver(kind, payload)
  }

  static #middlewareFailed<P extends ProtocolRole> (protocol: AIPProtocol<P>, error: unknown, message: AnyMessage): void {
    protocol.#log.warn({ err: error, type: message.type }, 'incoming middleware threw; message dropped')
    protocol.#emit('error', { error, context: 'middleware', message })
  }

  #transferFailed (event: TransferErrorEvent): void {
    this.#log.warn({ err: event.error, transferId: event.transferId }, 'incoming transfer failed')
    this.#emit('transferError', event)
    this.#rareState?.waiters?.failTransfer(event.transferId, event.error)
  }

  #shutdown (): void {
    const rare = this.#rareState
    if (this.#isClosed && (rare?.waiters === undefined || rare.waiters.size === 0)) return
    this.#flags |= CLOSED
    const dropped = rare?.release() ?? 0
    if (dropped > 0) this.#log.debug({ dropped }, 'open transfers dropped at close')
  }

  #handleClose (info: CloseInfo): void {
    if ((this.#flags & CLOSE_HANDLED) !== 0) return
    this.#flags |= CLOSE_HANDLED
    this.#shutdown()
    const owner = this.#owner
    const key = this.#ownerKey
    if (owner !== null) this.#toOwner('close', () => { owner.ownerClosed(this, key, info) })
    this.#emit('close', info)
    // Bound at the close (the owner unbinds in `ownerClosed`): after every listener, an extension's `onClose` too.
    if (owner !== null) this.#toOwner('close', () => { owner.ownerAfterClose(info, key, this) })
    this.#events?.clear()
    // Kept for `closed` asked later: in the rare state, made now if need be (a closing connection has little left).
    this.#rare.settle(info)
  }
}
