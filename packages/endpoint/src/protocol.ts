import { createHash } from 'node:crypto'
import {
  DEFAULT_MAX_FRAME_BYTES, decodeClientMessage, decodeServerMessage, decodeTransferMessage, encodeClientMessage,
  encodeServerMessage, newId, timestamp,
  type ClientMessage, type DecodedClientMessage, type DecodedServerMessage, type ProtocolError, type ServerMessage
} from '@aip/protocol'
import { AbortedError, TimeoutError, TypedEmitter, describeValue, silentLogger, type Logger, type Unsubscribe } from '@aip/resilience'
import { InvalidArgumentError, InvalidOptionError, TransferSizeError, TransportClosedError, UnexpectedBinaryError } from './errors.js'
import { childLogger } from './logger.js'
import { integerOption, loggerOption, timeoutArgument } from './options.js'
import {
  TransferReassembler, md5Hex, type ReceivedBinary, type ReceivedFile, type TransferErrorEvent
} from './transfer.js'
import { CloseCode, type CloseInfo, type Transport } from './transport.js'

/** Which side of the protocol this is: a client sends ClientMessages, a server sends ServerMessages. */
export type ProtocolRole = 'client' | 'server'

/** What a protocol of role `R` sends. */
export type OutgoingMessage<R extends ProtocolRole> = R extends 'client' ? ClientMessage : ServerMessage
/** What a protocol of role `R` receives, decoded (every field present, `null` when unset). */
export type IncomingMessage<R extends ProtocolRole> = R extends 'client' ? DecodedServerMessage : DecodedClientMessage
/** The `type` of an incoming message. */
export type IncomingType<R extends ProtocolRole> = IncomingMessage<R>['type']

/** Any AIP message, in either direction. */
export type AnyMessage = ClientMessage | ServerMessage

/**
 * Intercepts messages in both directions. Outgoing middleware runs in registration order, incoming middleware in
 * reverse order. A hook may be async, and returns the message (possibly a modified copy), `undefined` to keep
 * it unchanged, or `null` to drop it.
 */
export interface ProtocolMiddleware {
  processOutgoing?: (message: AnyMessage) => AnyMessage | null | undefined | void | Promise<AnyMessage | null | undefined | void>
  processIncoming?: (message: AnyMessage) => AnyMessage | null | undefined | void | Promise<AnyMessage | null | undefined | void>
}

/** Handles one incoming message. Awaited: frames of a connection are handled one after another. */
export type MessageHandler<R extends ProtocolRole> = (message: IncomingMessage<R>) => void | Promise<void>

/** The extension fields of received messages (top-level fields the schema does not declare), by message. */
const EXTRA_FIELDS = new WeakMap<object, Readonly<Record<string, unknown>>>()

/**
 * The fields a received message carried beyond the 14 declared ones (our extensions, such as a COMMAND's
 * `traceparent`), or `null`. Only for messages as an {@link AIPProtocol} delivered them.
 */
export function extraFieldsOf (message: object): Readonly<Record<string, unknown>> | null {
  return EXTRA_FIELDS.get(message) ?? null
}

/** Options of {@link AIPProtocol}. */
export interface ProtocolOptions<R extends ProtocolRole> {
  /** `'client'` (device, constellation) or `'server'`. */
  role: R
  /** pino-compatible logger. Default: silent. */
  logger?: Logger
  /** Largest text frame decoded, in bytes. Default 4 MiB. */
  maxFrameBytes?: number
  /** Largest binary payload or file accepted from the peer, in bytes. Default 64 MiB. */
  maxFileBytes?: number
  /** Most files being received at once. Default 4. */
  maxConcurrentTransfers?: number
  /** Default chunk size of {@link AIPProtocol.sendFile}, in bytes. Default 1 MiB (the reference's). */
  chunkSize?: number
  /** Middleware installed at construction, in order. */
  middleware?: readonly ProtocolMiddleware[]
}

/** The validated, frozen options of a protocol. */
export interface ResolvedProtocolOptions<R extends ProtocolRole> {
  readonly role: R
  readonly logger: Logger
  readonly maxFrameBytes: number
  readonly maxFileBytes: number
  readonly maxConcurrentTransfers: number
  readonly chunkSize: number
}

/** Why an error event was emitted. */
export type ProtocolErrorContext = 'handler' | 'middleware'

/** Events of {@link AIPProtocol}. */
export interface ProtocolEvents<R extends ProtocolRole> {
  /** A message was written (after outgoing middleware); `bytes` is the frame's UTF-8 length. */
  sent: { readonly message: OutgoingMessage<R>, readonly bytes: number }
  /** A message arrived (after incoming middleware), before it is handed to the handlers. */
  received: { readonly message: IncomingMessage<R>, readonly bytes: number }
  /** A frame could not be decoded (or a binary frame came outside a transfer); it was dropped. */
  invalidFrame: { readonly error: ProtocolError | InstanceType<typeof UnexpectedBinaryError>, readonly bytes: number }
  /** A handler or a middleware threw; the frame was dropped or partly handled, the connection goes on. */
  error: { readonly error: unknown, readonly context: ProtocolErrorContext, readonly message?: AnyMessage | undefined }
  /** A `binary_data` payload arrived outside a file transfer. */
  binary: ReceivedBinary
  /** A chunked file arrived complete, with matching size and checksum. */
  file: ReceivedFile
  /** An incoming transfer failed (checksum, size, order, limits). */
  transferError: TransferErrorEvent
  /** The connection closed; emitted once, after every frame received before it was handled. */
  close: CloseInfo
}

/** Options of {@link AIPProtocol.receive}. */
export interface ReceiveOptions<R extends ProtocolRole> {
  /** Reject with `AIP_ERR_TIMEOUT` after this long. Default: no timeout. */
  timeoutMs?: number
  /** Reject with `AIP_ERR_ABORTED` when this aborts. */
  signal?: AbortSignal
  /** Only messages for which this returns true are taken. */
  filter?: (message: IncomingMessage<R>) => boolean
}

/** Options of {@link AIPProtocol.receiveFile} and {@link AIPProtocol.receiveBinary}. */
export interface ReceiveTransferOptions {
  /** Wait for this transfer only. Default: the next one. */
  transferId?: string
  timeoutMs?: number
  signal?: AbortSignal
}

/** Describes a payload sent with {@link AIPProtocol.sendBinary}. */
export interface BinaryMetadataInput {
  filename?: string
  mimeType?: string
  sessionId?: string
  description?: string
  /** Our `transfer_id`; a fresh uuid4 by default. */
  transferId?: string
  /** More keys for the metadata frame (the reference passes unknown keys through). */
  extra?: Readonly<Record<string, unknown>>
}

/** Where the bytes of a file come from: all of them, or chunks of any size from a stream or an iterable. */
export type FileSource = Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>

/** Options of {@link AIPProtocol.sendFile}. */
export interface SendFileOptions {
  /** Name announced to the receiver. */
  filename: string
  /** Total size in bytes; required when `source` is not a `Uint8Array`. */
  size?: number
  /** Bytes per chunk. Default: the protocol's `chunkSize` (1 MiB). */
  chunkSize?: number
  mimeType?: string
  sessionId?: string
  description?: string
  /** Our `transfer_id`; a fresh uuid4 by default. */
  transferId?: string
  /**
   * Send the whole transfer without letting other messages in between, as a Python peer requires. Default
   * `false`: other messages may be sent between two chunks.
   */
  exclusive?: boolean
  /** Stops the transfer between two chunks (the receiver is told, and drops it). */
  signal?: AbortSignal
}

/** What {@link AIPProtocol.sendFile} sent. */
export interface SentFile {
  readonly transferId: string
  readonly size: number
  readonly totalChunks: number
  /** MD5 (hex) of the whole file. */
  readonly checksum: string
}

/** Options of {@link AIPProtocol.send}. */
export interface SendOptions {
  /** Extension fields written after the 14 declared ones (the reference ignores unknown fields). */
  extra?: Readonly<Record<string, unknown>>
}

type WaiterKind = 'message' | 'binary' | 'file'

interface Waiter {
  readonly kind: WaiterKind
  readonly type: string
  readonly transferId: string | undefined
  readonly match: (payload: unknown) => boolean
  readonly resolve: (payload: unknown) => void
  readonly reject: (error: unknown) => void
}

const TRANSFER_TYPE = /"type"\s*:\s*"(?:binary_data|file_transfer_start|file_transfer_complete)"/

const noop = (): void => {}

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
  readonly #log: Logger
  readonly #events: TypedEmitter<ProtocolEvents<R>>
  readonly #middleware: ProtocolMiddleware[] = []
  readonly #handlers = new Map<string, Set<MessageHandler<R>>>()
  readonly #anyHandlers = new Set<MessageHandler<R>>()
  readonly #waiters = new Set<Waiter>()
  readonly #transfers: TransferReassembler
  readonly #unsubscribeTransport: Unsubscribe[]
  readonly #closedPromise: Promise<CloseInfo>
  #resolveClosed!: (info: CloseInfo) => void
  #inbox: Promise<void> = Promise.resolve()
  #outbox: Promise<void> = Promise.resolve()
  #closed = false
  #closeHandled = false

  /**
   * @param transport - an open connection; listeners are attached at once, so no frame is lost
   * @param options - the role and limits; validated here (`AIP_ERR_INVALID_OPTION`)
   */
  constructor (transport: Transport, options: ProtocolOptions<R>) {
    if (options?.role !== 'client' && options?.role !== 'server') {
      throw new InvalidOptionError('role', "'client' or 'server'", String(options?.role))
    }
    const logger = loggerOption(options.logger, silentLogger)
    this.options = Object.freeze({
      role: options.role,
      logger,
      maxFrameBytes: integerOption('maxFrameBytes', options.maxFrameBytes, DEFAULT_MAX_FRAME_BYTES, 1),
      maxFileBytes: integerOption('maxFileBytes', options.maxFileBytes, 64 * 1024 * 1024, 0),
      maxConcurrentTransfers: integerOption('maxConcurrentTransfers', options.maxConcurrentTransfers, 4, 1),
      chunkSize: integerOption('chunkSize', options.chunkSize, 1024 * 1024, 1)
    })
    this.transport = transport
    this.#closedPromise = new Promise((resolve) => { this.#resolveClosed = resolve })
    this.#log = childLogger(logger, { component: 'aip-protocol', role: options.role })
    this.#events = new TypedEmitter<ProtocolEvents<R>>((err, event) => {
      this.#log.error({ err, event }, 'protocol event listener threw')
    })
    for (const middleware of options.middleware ?? []) this.#middleware.push(middleware)
    this.#transfers = new TransferReassembler(this.options, {
      binary: (received) => this.#deliver('binary', received),
      file: (received) => this.#deliver('file', received),
      error: (event) => this.#transferFailed(event)
    })
    this.#unsubscribeTransport = [
      transport.on('message', (data) => this.#enqueueFrame(data)),
      transport.on('close', (info) => { this.#inbox = this.#inbox.then(() => this.#handleClose(info)) })
    ]
    if (!transport.isOpen) {
      this.#closed = true
      this.#inbox = this.#inbox.then(() => this.#handleClose({ code: CloseCode.Abnormal, reason: '', local: false }))
    }
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

  /** Files being received (started, not completed). */
  get openTransfers (): number {
    return this.#transfers.openCount
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
      let current: AnyMessage | null = message
      for (const middleware of [...this.#middleware]) {
        if (middleware.processOutgoing === undefined) continue
        const next: AnyMessage | null | undefined | void = await middleware.processOutgoing(current)
        if (next === null) return
        if (next !== undefined) current = next
      }
      const frame = this.options.role === 'client'
        ? encodeClientMessage(current as ClientMessage, { extra: options.extra ?? null })
        : encodeServerMessage(current as ServerMessage, { extra: options.extra ?? null })
      await this.#raw(frame)
      this.#events.emit('sent', { message: current as OutgoingMessage<R>, bytes: Buffer.byteLength(frame) })
    })
  }

  /**
   * Waits for the next message of `type` (`'*'`: of any type) that passes `filter`. The waiter is registered
   * before this returns, so a message that arrives right after a `send()` is not missed. Handlers still see the
   * message. Rejects with `AIP_ERR_TIMEOUT`, `AIP_ERR_ABORTED`, or
   * `AIP_ERR_ENDPOINT_TRANSPORT_CLOSED` when the connection closes first.
   */
  receive (type: IncomingType<R> | '*', options: ReceiveOptions<R> = {}): Promise<IncomingMessage<R>> {
    const filter = options.filter
    return this.#wait('message', type, undefined, options, `receive ${type}`, (payload) => {
      const message = payload as IncomingMessage<R>
      return (type === '*' || message.type === type) && (filter === undefined || filter(message))
    }) as Promise<IncomingMessage<R>>
  }

  /** Waits for the next binary payload (or the one of `transferId`); rejects on its transfer error. */
  receiveBinary (options: ReceiveTransferOptions = {}): Promise<ReceivedBinary> {
    return this.#wait('binary', 'binary', options.transferId, options, 'receive binary', (payload) =>
      options.transferId === undefined || (payload as ReceivedBinary).transferId === options.transferId
    ) as Promise<ReceivedBinary>
  }

  /** Waits for the next complete file (or the one of `transferId`); rejects on its transfer error. */
  receiveFile (options: ReceiveTransferOptions = {}): Promise<ReceivedFile> {
    return this.#wait('file', 'file', options.transferId, options, 'receive file', (payload) =>
      options.transferId === undefined || (payload as ReceivedFile).transferId === options.transferId
    ) as Promise<ReceivedFile>
  }

  /**
   * Sends one binary payload: a `binary_data` metadata text frame (with `size`, the MD5 `checksum` and our
   * `transfer_id`), then the bytes as one binary frame, with nothing in between. Resolves with the transfer id.
   * Never send this to a Python peer that does not expect it (reference bug B17).
   */
  async sendBinary (data: Uint8Array, metadata: BinaryMetadataInput = {}): Promise<string> {
    if (!(data instanceof Uint8Array)) throw new InvalidArgumentError('data', 'a Uint8Array', describeValue(data))
    const transferId = metadata.transferId ?? newId()
    const frame = {
      ...metadata.extra,
      type: 'binary_data',
      ...optional('filename', metadata.filename),
      ...optional('mime_type', metadata.mimeType),
      ...optional('session_id', metadata.sessionId),
      ...optional('description', metadata.description),
      size: data.byteLength,
      checksum: md5Hex(data),
      timestamp: timestamp(),
      transfer_id: transferId
    }
    await this.#guardedWrite(() => this.#rawPair(JSON.stringify(frame), data))
    return transferId
  }

  /**
   * Sends a file in chunks, in the reference's frame sequence: `file_transfer_start`, then for each chunk a
   * `binary_data` metadata frame (`chunk_num`, `chunk_size`) and a binary frame, then `file_transfer_complete`
   * with the MD5 (hex) of the whole file. Every frame carries our `transfer_id`. A stream that yields more or
   * fewer bytes than `size` rejects with `AIP_ERR_ENDPOINT_TRANSFER_SIZE`; the completion frame then carries our
   * `aborted` key instead of a checksum, and our receiver drops the transfer (`AIP_ERR_ENDPOINT_TRANSFER_ABORTED`).
   */
  async sendFile (source: FileSource, options: SendFileOptions): Promise<SentFile> {
    if (typeof options?.filename !== 'string') throw new InvalidArgumentError('options.filename', 'a string', describeValue(options?.filename))
    const whole = source instanceof Uint8Array
    const size = whole ? source.byteLength : options.size
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
      throw new InvalidArgumentError('options.size', 'the total size in bytes (an integer >= 0) for a stream', describeValue(size))
    }
    const chunkSize = options.chunkSize ?? this.options.chunkSize
    if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) {
      throw new InvalidArgumentError('options.chunkSize', 'an integer >= 1', describeValue(chunkSize))
    }
    if (!this.isOpen) throw new TransportClosedError()
    const transferId = options.transferId ?? newId()
    const totalChunks = Math.ceil(size / chunkSize)
    const label = `transfer ${transferId} (${options.filename})`
    const run = async (write: (job: () => Promise<void>) => Promise<void>): Promise<SentFile> => {
      await write(() => this.#raw(JSON.stringify({
        type: 'file_transfer_start',
        filename: options.filename,
        size,
        chunk_size: chunkSize,
        total_chunks: totalChunks,
        mime_type: options.mimeType ?? null,
        ...optional('session_id', options.sessionId),
        ...optional('description', options.description),
        transfer_id: transferId
      })))
      const md5 = createHash('md5')
      let sent = 0
      let chunkNum = 0
      let failure: Error | undefined
      for await (const chunk of rechunk(whole ? [source] : source, chunkSize)) {
        if (options.signal?.aborted === true) {
          failure = new AbortedError(label, options.signal.reason)
          break
        }
        if (sent + chunk.byteLength > size) {
          failure = new TransferSizeError(label, `the source yielded more than the ${size} bytes announced`)
          break
        }
        md5.update(chunk)
        const meta = {
          chunk_num: chunkNum,
          chunk_size: chunk.byteLength,
          type: 'binary_data',
          size: chunk.byteLength,
          timestamp: timestamp(),
          transfer_id: transferId
        }
        await write(() => this.#rawPair(JSON.stringify(meta), chunk))
        sent += chunk.byteLength
        chunkNum++
      }
      if (failure === undefined && sent !== size) {
        failure = new TransferSizeError(label, `the source yielded ${sent} of the ${size} bytes announced`)
      }
      const checksum = md5.digest('hex')
      await write(() => this.#raw(JSON.stringify({
        type: 'file_transfer_complete',
        filename: options.filename,
        total_chunks: chunkNum,
        // Our extension: `aborted` tells our receiver to drop the transfer (a Python receiver ignores it).
        ...(failure === undefined ? { checksum } : { aborted: failure.message }),
        ...optional('session_id', options.sessionId),
        transfer_id: transferId
      })))
      if (failure !== undefined) throw failure
      return { transferId, size, totalChunks, checksum }
    }
    if (options.exclusive === true) {
      let result: SentFile | undefined
      await this.#guardedWrite(async () => { result = await run((job) => job()) })
      return result as SentFile
    }
    return await run((job) => this.#guardedWrite(job))
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
    const run = this.#outbox.then(job)
    this.#outbox = run.then(noop, noop)
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

  #enqueueFrame (data: string | Buffer): void {
    this.#inbox = this.#inbox.then(() => this.#process(data))
  }

  async #process (data: string | Buffer): Promise<void> {
    if (this.#closed) return
    if (typeof data !== 'string') {
      if (!this.#transfers.binary(data)) {
        this.#events.emit('invalidFrame', { error: new UnexpectedBinaryError(data.length), bytes: data.length })
      }
      return
    }
    const bytes = Buffer.byteLength(data)
    const limits = { maxBytes: this.options.maxFrameBytes }
    const decoded = this.options.role === 'client' ? decodeServerMessage(data, limits) : decodeClientMessage(data, limits)
    if (!decoded.ok) {
      const transfer = decodeTransferMessage(data, limits)
      if (transfer.ok) {
        this.#transfers.control(transfer.value)
        return
      }
      const error = TRANSFER_TYPE.test(data) ? transfer.error : decoded.error
      this.#events.emit('invalidFrame', { error, bytes })
      return
    }
    let message: AnyMessage | null = decoded.value
    if (decoded.extra !== null) EXTRA_FIELDS.set(decoded.value, decoded.extra)
    const chain = [...this.#middleware]
    for (let i = chain.length - 1; i >= 0; i--) {
      const middleware = chain[i] as ProtocolMiddleware
      if (middleware.processIncoming === undefined) continue
      try {
        const next: AnyMessage | null | undefined | void = await middleware.processIncoming(message)
        if (next === null) return
        if (next !== undefined) message = next
      } catch (error) {
        this.#log.warn({ err: error, type: message.type }, 'incoming middleware threw; message dropped')
        this.#events.emit('error', { error, context: 'middleware', message })
        return
      }
    }
    if (this.#closed) return
    const incoming = message as IncomingMessage<R>
    this.#events.emit('received', { message: incoming, bytes })
    this.#deliver('message', incoming)
    const handlers = [...(this.#handlers.get(incoming.type) ?? []), ...this.#anyHandlers]
    for (const handler of handlers) {
      try {
        await handler(incoming)
      } catch (error) {
        this.#log.warn({ err: error, type: incoming.type, sessionId: incoming.session_id }, 'message handler threw')
        this.#events.emit('error', { error, context: 'handler', message: incoming })
      }
    }
  }

  #deliver (kind: WaiterKind, payload: unknown): void {
    if (kind === 'binary') this.#events.emit('binary', payload as ReceivedBinary)
    else if (kind === 'file') this.#events.emit('file', payload as ReceivedFile)
    for (const waiter of [...this.#waiters]) {
      if (waiter.kind === kind && waiter.match(payload)) waiter.resolve(payload)
    }
  }

  #transferFailed (event: TransferErrorEvent): void {
    this.#log.warn({ err: event.error, transferId: event.transferId }, 'incoming transfer failed')
    this.#events.emit('transferError', event)
    for (const waiter of [...this.#waiters]) {
      if (waiter.kind === 'message') continue
      if (waiter.transferId === undefined || waiter.transferId === event.transferId) waiter.reject(event.error)
    }
  }

  #wait (
    kind: WaiterKind, type: string, transferId: string | undefined,
    options: { timeoutMs?: number | undefined, signal?: AbortSignal | undefined }, operation: string,
    match: (payload: unknown) => boolean
  ): Promise<unknown> {
    let timeoutMs: number | undefined
    try {
      timeoutMs = timeoutArgument('timeoutMs', options.timeoutMs)
    } catch (err) {
      return Promise.reject(err)
    }
    const { signal } = options
    if (signal?.aborted === true) return Promise.reject(new AbortedError(operation, signal.reason))
    if (this.#closed) return Promise.reject(new TransportClosedError())
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined
      const onAbort = (): void => { settle(() => reject(new AbortedError(operation, signal?.reason))) }
      const settle = (finish: () => void): void => {
        if (!this.#waiters.delete(waiter)) return
        if (timer !== undefined) clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        finish()
      }
      const waiter: Waiter = {
        kind,
        type,
        transferId,
        match,
        resolve: (payload) => settle(() => resolve(payload)),
        reject: (error) => settle(() => reject(error))
      }
      this.#waiters.add(waiter)
      signal?.addEventListener('abort', onAbort, { once: true })
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => waiter.reject(new TimeoutError(operation, timeoutMs)), timeoutMs)
        timer.unref()
      }
    })
  }

  #shutdown (): void {
    if (this.#closed && this.#waiters.size === 0) return
    this.#closed = true
    const dropped = this.#transfers.clear()
    if (dropped > 0) this.#log.debug({ dropped }, 'open transfers dropped at close')
    for (const waiter of [...this.#waiters]) waiter.reject(new TransportClosedError())
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

function optional (key: string, value: string | undefined): Record<string, string> {
  return value === undefined ? {} : { [key]: value }
}

/** Splits a stream of byte pieces of any size into chunks of exactly `chunkSize` (the last may be shorter). */
export async function * rechunk (source: Iterable<Uint8Array> | AsyncIterable<Uint8Array>, chunkSize: number): AsyncGenerator<Uint8Array> {
  let parts: Uint8Array[] = []
  let buffered = 0
  for await (const piece of source as AsyncIterable<Uint8Array>) {
    if (!(piece instanceof Uint8Array)) throw new InvalidArgumentError('source', 'chunks of bytes (Uint8Array)', describeValue(piece))
    let offset = 0
    while (offset < piece.byteLength) {
      const take = Math.min(chunkSize - buffered, piece.byteLength - offset)
      parts.push(piece.subarray(offset, offset + take))
      buffered += take
      offset += take
      if (buffered === chunkSize) {
        yield parts.length === 1 ? parts[0] as Uint8Array : Buffer.concat(parts, buffered)
        parts = []
        buffered = 0
      }
    }
  }
  if (buffered > 0) yield parts.length === 1 ? parts[0] as Uint8Array : Buffer.concat(parts, buffered)
}
