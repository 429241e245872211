import type {
  ClientMessage, DecodedClientMessage, DecodedServerMessage, FrameCorrelation, ProtocolError, ServerMessage
} from '@aip/protocol'
import type { Logger } from '@aip/resilience'
import type { UnexpectedBinaryError } from '../errors.js'
import type { CloseInfo } from '../transport.js'
import type { ReceivedBinary, ReceivedFile, TransferErrorEvent } from './transfer-receive.js'

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
  /**
   * Take part in binary payloads and file transfers from the peer. Default `true`. When `false` (a server that
   * accepts none), transfer frames are invalid frames like any other and every binary frame is unexpected.
   */
  acceptTransfers?: boolean
  /**
   * Frames received and not yet handled past which a new frame is dropped and `queueFull` is emitted (the peer
   * sends faster than its frames are handled). Default: unbounded.
   */
  maxQueuedFrames?: number
  /**
   * A clock (ms). When given, the protocol records when each frame arrived ({@link AIPProtocol.lastFrameAt}), so
   * that an owner tracking its peer's activity needs no listener of its own per connection. Default: none.
   */
  clock?: (() => number) | undefined
}

/** The validated, frozen options of a protocol. */
export interface ResolvedProtocolOptions<R extends ProtocolRole> {
  readonly role: R
  readonly logger: Logger
  readonly maxFrameBytes: number
  readonly maxFileBytes: number
  readonly maxConcurrentTransfers: number
  readonly chunkSize: number
  readonly acceptTransfers: boolean
  readonly maxQueuedFrames: number
  readonly clock: (() => number) | undefined
  /** The middleware installed at construction of each protocol, in order (frozen; `use()` adds per protocol). */
  readonly middleware: readonly ProtocolMiddleware[]
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
  invalidFrame: {
    readonly error: ProtocolError | InstanceType<typeof UnexpectedBinaryError>
    readonly bytes: number
    /** The ids a malformed text frame carried, when they could be read (to correlate the answer). */
    readonly correlation?: FrameCorrelation | undefined
  }
  /** A frame arrived while `maxQueuedFrames` were waiting: it was dropped. */
  queueFull: { readonly queued: number }
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
  extra?: Readonly<Record<string, unknown>> | null | undefined
}

/** Options of {@link AIPProtocol.post}. */
export interface PostOptions extends SendOptions {
  /** Check the message against its schema before writing it. Default `true`; messages built by our builders may skip it. */
  validate?: boolean
  /** The message already encoded (one frame sent to several peers is encoded once); used when no middleware runs. */
  encoded?: string
  /**
   * Called when the write fails after `post` returned (the connection is gone); never called synchronously. Without
   * it nothing waits for the write: no callback per frame (a failure shows as the connection's close).
   */
  onError?: (err: unknown) => void
}
