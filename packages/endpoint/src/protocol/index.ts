import {
  DEFAULT_MAX_FRAME_BYTES, decodeClientMessage, decodeServerMessage, decodeTransferMessage, encodeClientMessage,
  encodeServerMessage, type ClientMessage, type ServerMessage
} from '@aip/protocol'
import {
  CheckedOption, LoggerOption, TypedEmitter, resolveOptions, type Logger, type Unsubscribe
} from '@aip/resilience'
import { Type } from '@sinclair/typebox'
import { TransportClosedError, UnexpectedBinaryError } from '../errors.js'
import { childLogger } from '../logger.js'
import { CloseCode, type CloseInfo, type Transport } from '../transport.js'
import { runIncoming, runOutgoing } from './middleware.js'
import { TransferReassembler, type ReceivedBinary, type ReceivedFile, type TransferErrorEvent } from './transfer-receive.js'
import { sendBinary, sendFile, type TransferLink } from './transfer-send.js'
import type {
  AnyMessage, BinaryMetadataInput, FileSource, IncomingMessage, IncomingType, MessageHandler, OutgoingMessage,
  PostOptions, ProtocolEvents, ProtocolMiddleware, ProtocolOptions, ProtocolRole, ReceiveOptions, ReceiveTransferOptions,
  ResolvedProtocolOptions, SendFileOptions, SendOptions, SentFile
} from './types.js'
import { Inbox, runHandlers } from './inbox.js'
import { Waiters, type WaiterKind } from './waiters.js'

export type * from './types.js'
export { rechunk } from './transfer-send.js'

/** The schema of {@link ProtocolOptions}, with its defaults. */
const ProtocolOptionsSchema = Type.Object({
  role: Type.Union([Type.Literal('client'), Type.Literal('server')]),
  logger: LoggerOption(),
  maxFrameBytes: Type.Integer({ minimum: 1, default: DEFAULT_MAX_FRAME_BYTES }),
  maxFileBytes: Type.Integer({ minimum: 0, default: 64 * 1024 * 1024 }),
  maxConcurrentTransfers: Type.Integer({ minimum: 1, default: 4 }),
  chunkSize: Type.Integer({ minimum: 1, default: 1024 * 1024 }),
  acceptTransfers: Type.Boolean({ default: true }),
  maxQueuedFrames: Type.Optional(Type.Integer({ minimum: 1 })),
  middleware: Type.Optional(CheckedOption<readonly ProtocolMiddleware[]>('an array of middleware', Array.isArray))
})

const TRANSFER_TYPE = /"type"\s*:\s*"(?:binary_data|file_transfer_start|file_transfer_complete)"/

const noop = (): void => {}

/** The extension fields of received messages (top-level fields the schema does not declare), by message. */
const EXTRA_FIELDS = new WeakMap<object, Readonly<Record<string, unknown>>>()

/**
 * The fields a received message carried beyond the 14 declared ones (our extensions, such as a COMMAND's
 * `traceparent`), or `null`. Only for messages as an {@link AIPProtocol} delivered them.
 */
export function extraFieldsOf (message: object): Readonly<Record<string, unknown>> | null {
  return EXTRA_FIELDS.get(message) ?? null
}

/**
 * The AIP protocol engine over one {@link Transport}: encodes and sends messages through outgoing middleware,
 * decodes incoming frames strictly in order, runs incoming middleware, and dispatches each message to the
 * handlers of its type. It also sends and reassembles binary payloads and chunked files.
 *
 * Decoding never throws: a bad frame becomes an `invalidFrame` event. A handler that throws becomes an `error`
 * event. Handlers are awaited one after another, so a handler must not await `receive()` of a later message.
 */
export class AIPProtocol<R extends ProtocolRole = ProtocolRole> {
  /** The validated options, frozen. */
  readonly options: ResolvedProtocolOptions<R>
  /** The connection this protocol runs on. */
  readonly transport: Transport
  /** The child logger, made on first use: most connections never log (a pino child per connection costs). */
  #logger: Logger | undefined
  readonly #events: TypedEmitter<ProtocolEvents<R>>
  readonly #middleware: ProtocolMiddleware[] = []
  readonly #handlers = new Map<string, Set<MessageHandler<R>>>()
  readonly #anyHandlers = new Set<MessageHandler<R>>()
  readonly #waiters = new Waiters()
  /** Made on first use: a connection that never receives a transfer holds none. */
  #reassembler: TransferReassembler | undefined
  readonly #unsubscribeTransport: Unsubscribe[]
  readonly #closedPromise: Promise<CloseInfo>
  #resolveClosed!: (info: CloseInfo) => void
  readonly #inbox: Inbox
  #outbox: Promise<void> = Promise.resolve()
  /** Writes queued on `#outbox` and not finished: `post` writes at once only when none is. */
  #writing = 0
  /** Length of the text frame whose message the handlers are running for. */
  #frameLength = 0
  #closed = false
  #closeHandled = false
  #link: TransferLink | undefined

  /**
   * @param transport - an open connection; listeners are attached at once, so no frame is lost
   * @param options - the role and limits; validated here (`AIP_ERR_INVALID_OPTION`)
   */
  constructor (transport: Transport, options: ProtocolOptions<R>) {
    const resolved = resolveOptions(ProtocolOptionsSchema, options)
    const logger = resolved.logger
    this.options = Object.freeze({
      role: resolved.role as R,
      logger,
      maxFrameBytes: resolved.maxFrameBytes,
      maxFileBytes: resolved.maxFileBytes,
      maxConcurrentTransfers: resolved.maxConcurrentTransfers,
      chunkSize: resolved.chunkSize,
      acceptTransfers: resolved.acceptTransfers,
      maxQueuedFrames: resolved.maxQueuedFrames ?? Number.POSITIVE_INFINITY
    })
    this.transport = transport
    this.#closedPromise = new Promise((resolve) => { this.#resolveClosed = resolve })
    this.#inbox = new Inbox((err, what) => this.#log.error({ err }, what))
    this.#events = new TypedEmitter<ProtocolEvents<R>>((err, event) => {
      this.#log.error({ err, event }, 'protocol event listener threw')
    })
    for (const middleware of resolved.middleware ?? []) this.#middleware.push(middleware)
    this.#unsubscribeTransport = [
      transport.on('message', (data) => this.#enqueueFrame(data)),
      transport.on('close', (info) => { this.#inbox.enqueue(() => { this.#handleClose(info); return undefined }) })
    ]
    if (!transport.isOpen) {
      this.#closed = true
      const info = { code: CloseCode.Abnormal, reason: '', local: false }
      queueMicrotask(() => this.#inbox.enqueue(() => { this.#handleClose(info); return undefined }))
    }
  }

  get #log (): Logger {
    return (this.#logger ??= childLogger(this.options.logger, { component: 'aip-protocol', role: this.options.role }))
  }

  get #transfers (): TransferReassembler {
    return (this.#reassembler ??= new TransferReassembler(this.options, {
      binary: (received) => this.#deliver('binary', received),
      file: (received) => this.#deliver('file', received),
      error: (event) => this.#transferFailed(event)
    }))
  }

  /** True while the connection is open and `close()` was not called. */
  get isOpen (): boolean {
    return !this.#closed && this.transport.isOpen
  }

  /** Resolves once the connection has closed and every frame received before the close was handled. */
  get closed (): Promise<CloseInfo> {
    return this.#closedPromise
  }

  /** Number of callers waiting in `receive()`, `receiveBinary()` or `receiveFile()`. */
  get waiterCount (): number {
    return this.#waiters.size
  }

  /** Frames received and not handled yet (the one being handled included). */
  get queuedFrames (): number {
    return this.#inbox.length
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
    return this.#reassembler?.openCount ?? 0
  }

  /** Subscribes to an event; returns the function that unsubscribes. */
  on<E extends keyof ProtocolEvents<R>>(event: E, listener: (payload: ProtocolEvents<R>[E]) => void): Unsubscribe {
    return this.#events.on(event, listener)
  }

  /** Adds a middleware at the end of the chain; returns the function that removes it. */
  use (middleware: ProtocolMiddleware): Unsubscribe {
    this.#middleware.push(middleware)
    return () => {
      const at = this.#middleware.indexOf(middleware)
      if (at !== -1) this.#middleware.splice(at, 1)
    }
  }

  /** Registers a handler for one message type; returns the function that removes it. */
  onMessage (type: IncomingType<R>, handler: MessageHandler<R>): Unsubscribe {
    let set = this.#handlers.get(type)
    if (set === undefined) {
      set = new Set()
      this.#handlers.set(type, set)
    }
    set.add(handler)
    return () => {
      const current = this.#handlers.get(type)
      current?.delete(handler)
      if (current?.size === 0) this.#handlers.delete(type)
    }
  }

  /** Registers a handler for every message, called after the handlers of its type; returns the remover. */
  onAnyMessage (handler: MessageHandler<R>): Unsubscribe {
    this.#anyHandlers.add(handler)
    return () => { this.#anyHandlers.delete(handler) }
  }

  /**
   * Sends a message: outgoing middleware in registration order, then the reference wire form. Sends are written
   * in call order. Rejects with `AIP_ERR_ENDPOINT_TRANSPORT_CLOSED` when closed, with
   * `AIP_ERR_PROTOCOL_INVALID_ARGUMENT` for a message the reference would reject, or with a middleware's error.
   */
  send (message: OutgoingMessage<R>, options: SendOptions = {}): Promise<void> {
    if (!this.isOpen) return Promise.reject(new TransportClosedError())
    return this.#write(async () => {
      const current = this.#middleware.length === 0 ? message : await runOutgoing([...this.#middleware], message)
      if (current === null) return
      const frame = this.options.role === 'client'
        ? encodeClientMessage(current as ClientMessage, { extra: options.extra ?? null })
        : encodeServerMessage(current as ServerMessage, { extra: options.extra ?? null })
      await this.#raw(frame)
      this.#events.emit('sent', { message: current as OutgoingMessage<R>, bytes: Buffer.byteLength(frame) })
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
    const onError = options.onError ?? noop
    if (this.#middleware.length > 0 || this.#writing > 0) {
      this.send(message, options).catch(onError)
      return true
    }
    const encode = { extra: options.extra ?? null, validate: options.validate ?? true }
    const frame = options.encoded ?? (this.options.role === 'client'
      ? encodeClientMessage(message as ClientMessage, encode)
      : encodeServerMessage(message as ServerMessage, encode))
    const transport = this.transport
    if (transport.post !== undefined) {
      if (!transport.post(frame, onError)) return false
    } else {
      transport.send(frame).catch(onError)
    }
    if (this.#events.listenerCount('sent') > 0) this.#events.emit('sent', { message, bytes: Buffer.byteLength(frame) })
    return true
  }

  /**
   * Waits for the next message of `type` (`'*'`: of any type) that passes `filter`. The waiter is registered
   * before this returns, so a message that arrives right after a `send()` is not missed. Handlers still see the
   * message. Rejects with `AIP_ERR_TIMEOUT`, `AIP_ERR_ABORTED`, or
   * `AIP_ERR_ENDPOINT_TRANSPORT_CLOSED` when the connection closes first.
   */
  receive (type: IncomingType<R> | '*', options: ReceiveOptions<R> = {}): Promise<IncomingMessage<R>> {
    const filter = options.filter
    return this.#waiters.wait('message', undefined, options, `receive ${type}`, (payload) => {
      const message = payload as IncomingMessage<R>
      return (type === '*' || message.type === type) && (filter === undefined || filter(message))
    }, this.#closed) as Promise<IncomingMessage<R>>
  }

  /** Waits for the next binary payload (or the one of `transferId`); rejects on its transfer error. */
  receiveBinary (options: ReceiveTransferOptions = {}): Promise<ReceivedBinary> {
    return this.#waiters.wait('binary', options.transferId, options, 'receive binary', (payload) =>
      options.transferId === undefined || (payload as ReceivedBinary).transferId === options.transferId
    , this.#closed) as Promise<ReceivedBinary>
  }

  /** Waits for the next complete file (or the one of `transferId`); rejects on its transfer error. */
  receiveFile (options: ReceiveTransferOptions = {}): Promise<ReceivedFile> {
    return this.#waiters.wait('file', options.transferId, options, 'receive file', (payload) =>
      options.transferId === undefined || (payload as ReceivedFile).transferId === options.transferId
    , this.#closed) as Promise<ReceivedFile>
  }

  /**
   * Sends one binary payload: a `binary_data` metadata text frame (with `size`, the MD5 `checksum` and our
   * `transfer_id`), then the bytes as one binary frame, with nothing in between. Resolves with the transfer id.
   * Never send this to a Python peer that does not expect it (reference bug B17).
   */
  async sendBinary (data: Uint8Array, metadata: BinaryMetadataInput = {}): Promise<string> {
    return await sendBinary(this.#transferLink(), data, metadata)
  }

  /**
   * Sends a file in chunks, in the reference's frame sequence: `file_transfer_start`, then for each chunk a
   * `binary_data` metadata frame (`chunk_num`, `chunk_size`) and a binary frame, then `file_transfer_complete`
   * with the MD5 (hex) of the whole file. Every frame carries our `transfer_id`. A stream that yields more or
   * fewer bytes than `size` rejects with `AIP_ERR_ENDPOINT_TRANSFER_SIZE`; the completion frame then carries our
   * `aborted` key instead of a checksum, and our receiver drops the transfer (`AIP_ERR_ENDPOINT_TRANSFER_ABORTED`).
   */
  async sendFile (source: FileSource, options: SendFileOptions): Promise<SentFile> {
    return await sendFile(this.#transferLink(), source, options)
  }

  /**
   * Closes the connection (code 1000 by default) and releases every waiter at once with
   * `AIP_ERR_ENDPOINT_TRANSPORT_CLOSED`. Frames not yet handled are dropped. Idempotent.
   */
  close (code?: number, reason?: string): void {
    this.#shutdown()
    this.transport.close(code, reason)
  }

  /** Runs `job` after every write queued before it: sends leave in call order. */
  #write (job: () => Promise<void>): Promise<void> {
    this.#writing++
    const run = this.#outbox.then(job)
    const done = (): void => { this.#writing-- }
    this.#outbox = run.then(done, done)
    return run
  }

  /** Like `#write`, refusing when closed. */
  #guardedWrite (job: () => Promise<void>): Promise<void> {
    return this.#write(async () => {
      if (!this.isOpen) throw new TransportClosedError()
      await job()
    })
  }

  #raw (frame: string): Promise<void> {
    return this.transport.send(frame)
  }

  async #rawPair (meta: string, data: Uint8Array): Promise<void> {
    // Both writes are queued on the socket before either completes: nothing can come between them.
    const first = this.transport.send(meta)
    const second = this.transport.send(data)
    await Promise.all([first, second])
  }

  /** The view of this protocol the transfer senders use; built on first use. */
  #transferLink (): TransferLink {
    if (this.#link !== undefined) return this.#link
    const protocol = this as AIPProtocol<ProtocolRole>
    const link: TransferLink = {
      get isOpen () { return protocol.isOpen },
      chunkSize: this.options.chunkSize,
      raw: (frame) => this.#raw(frame),
      rawPair: (meta, data) => this.#rawPair(meta, data),
      guardedWrite: (job) => this.#guardedWrite(job)
    }
    this.#link = link
    return link
  }

  #enqueueFrame (data: string | Buffer): void {
    if (this.#inbox.length >= this.options.maxQueuedFrames) {
      this.#events.emit('queueFull', { queued: this.#inbox.length })
      return
    }
    this.#inbox.enqueue(() => this.#process(data))
  }

  /** Decodes one frame (the one place a frame is decoded) and hands its message over; synchronous when it can be. */
  #process (data: string | Buffer): Promise<void> | undefined {
    if (this.#closed) return
    if (typeof data !== 'string') {
      if (!this.options.acceptTransfers || !this.#transfers.binary(data)) {
        this.#events.emit('invalidFrame', { error: new UnexpectedBinaryError(data.length), bytes: data.length })
      }
      return
    }
    const limits = { maxBytes: this.options.maxFrameBytes }
    const decoded = this.options.role === 'client' ? decodeServerMessage(data, limits) : decodeClientMessage(data, limits)
    if (!decoded.ok) {
      if (this.options.acceptTransfers) {
        const transfer = decodeTransferMessage(data, limits)
        if (transfer.ok) {
          this.#transfers.control(transfer.value)
          return
        }
        if (TRANSFER_TYPE.test(data)) {
          this.#events.emit('invalidFrame', { error: transfer.error, bytes: Buffer.byteLength(data) })
          return
        }
      }
      this.#events.emit('invalidFrame', { error: decoded.error, bytes: Buffer.byteLength(data), correlation: decoded.correlation })
      return
    }
    if (decoded.extra !== null) EXTRA_FIELDS.set(decoded.value, decoded.extra)
    if (this.#middleware.length === 0) return this.#handle(decoded.value as IncomingMessage<R>, data)
    return runIncoming([...this.#middleware], decoded.value, this.#onMiddlewareError).then((message) => {
      if (message !== null) return this.#handle(message as IncomingMessage<R>, data)
    })
  }

  /** Emits `received`, wakes the waiters, then runs the handlers one after another (synchronously while they are). */
  #handle (incoming: IncomingMessage<R>, data: string): Promise<void> | undefined {
    if (this.#closed) return
    if (this.#events.listenerCount('received') > 0) this.#events.emit('received', { message: incoming, bytes: Buffer.byteLength(data) })
    this.#deliver('message', incoming)
    this.#frameLength = data.length
    const typed = this.#handlers.get(incoming.type)
    const handlers = typed === undefined ? [...this.#anyHandlers] : [...typed, ...this.#anyHandlers]
    return runHandlers(handlers, 0, incoming, this.#onHandlerError)
  }

  readonly #onHandlerError = (error: unknown, incoming: IncomingMessage<R>): void => {
    this.#log.warn({ err: error, type: incoming.type, sessionId: incoming.session_id }, 'message handler threw')
    this.#events.emit('error', { error, context: 'handler', message: incoming })
  }

  #deliver (kind: WaiterKind, payload: unknown): void {
    if (kind === 'binary') this.#events.emit('binary', payload as ReceivedBinary)
    else if (kind === 'file') this.#events.emit('file', payload as ReceivedFile)
    this.#waiters.deliver(kind, payload)
  }

  readonly #onMiddlewareError = (error: unknown, message: AnyMessage): void => {
    this.#log.warn({ err: error, type: message.type }, 'incoming middleware threw; message dropped')
    this.#events.emit('error', { error, context: 'middleware', message })
  }

  #transferFailed (event: TransferErrorEvent): void {
    this.#log.warn({ err: event.error, transferId: event.transferId }, 'incoming transfer failed')
    this.#events.emit('transferError', event)
    this.#waiters.failTransfer(event.transferId, event.error)
  }

  #shutdown (): void {
    if (this.#closed && this.#waiters.size === 0) return
    this.#closed = true
    const dropped = this.#reassembler?.clear() ?? 0
    if (dropped > 0) this.#log.debug({ dropped }, 'open transfers dropped at close')
    this.#waiters.rejectAll(() => new TransportClosedError())
  }

  #handleClose (info: CloseInfo): void {
    if (this.#closeHandled) return
    this.#closeHandled = true
    this.#shutdown()
    for (const unsubscribe of this.#unsubscribeTransport) unsubscribe()
    this.#events.emit('close', info)
    this.#events.clear()
    this.#resolveClosed(info)
    this.#handlers.clear()
    this.#anyHandlers.clear()
  }
}
