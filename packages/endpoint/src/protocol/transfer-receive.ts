import { createHash, type Hash } from 'node:crypto'
import type { BinaryMetadata, FileTransferComplete, FileTransferStart, TransferMessage } from '@aip/protocol'
import {
  TransferAbortedError, TransferChecksumError, TransferLimitError, TransferOrderError, TransferSizeError, TransferTooLargeError
} from '../errors.js'

/** A `binary_data` payload received outside a file transfer. */
export interface ReceivedBinary {
  /** Our `transfer_id` extension, or `null` when the sender (a Python peer) sent none. */
  readonly transferId: string | null
  /** The payload. */
  readonly data: Buffer
  /** The metadata frame as it came, unknown keys included. */
  readonly metadata: Readonly<BinaryMetadata & Record<string, unknown>>
}

/** A file received in chunks, reassembled and checked. */
export interface ReceivedFile {
  /** Our `transfer_id` extension, or `null` when the sender sent none. */
  readonly transferId: string | null
  readonly filename: string
  readonly mimeType: string | null
  readonly sessionId: string | null
  readonly description: string | null
  /** Bytes received (equal to the size announced in `file_transfer_start`). */
  readonly size: number
  readonly totalChunks: number
  /** MD5 (hex) of what was received. */
  readonly checksum: string
  /** The whole file. */
  readonly data: Buffer
}

/** A transfer that failed on the receiving side, with its coded error. */
export interface TransferErrorEvent {
  readonly transferId: string | null
  /** One of the `AIP_ERR_ENDPOINT_TRANSFER_*` errors. */
  readonly error: CodedError
}

/** An error with a `code`. */
export type CodedError = Error & { readonly code: string }

/** Where the reassembler reports what it completed or refused. */
export interface TransferSink {
  binary: (received: ReceivedBinary) => void
  file: (received: ReceivedFile) => void
  error: (event: TransferErrorEvent) => void
}

/** Limits of the reassembler. */
export interface TransferLimits {
  readonly maxFileBytes: number
  readonly maxConcurrentTransfers: number
}

interface FileState {
  readonly transferId: string | null
  readonly key: string
  readonly start: FileTransferStart
  readonly chunks: Buffer[]
  readonly md5: Hash
  received: number
  nextChunk: number
}

interface Pending {
  readonly transferId: string | null
  readonly label: string
  readonly meta: BinaryMetadata & Record<string, unknown>
  /** The file this chunk belongs to, when it is a chunk. */
  readonly file: FileState | undefined
  /** The binary frame is swallowed: its metadata was refused. */
  readonly discard: boolean
}

/** Most keys remembered as refused (their later frames are swallowed quietly); the oldest is forgotten first. */
const MAX_IGNORED = 64

/** MD5 (hex) of bytes. */
export function md5Hex (data: Uint8Array): string {
  return createHash('md5').update(data).digest('hex')
}

function transferIdOf (message: Record<string, unknown>): string | null {
  const id = message.transfer_id
  return typeof id === 'string' ? id : null
}

function labelOf (transferId: string | null, filename: unknown): string {
  const name = typeof filename === 'string' ? ` (${filename})` : ''
  return transferId === null ? `transfer${name}` : `transfer ${transferId}${name}`
}

/**
 * Reassembles incoming binary payloads and chunked files, frame by frame, in the order they arrive. Every
 * announced size is checked against `maxFileBytes` before a byte is kept, so memory stays bounded by
 * `maxFileBytes × maxConcurrentTransfers`.
 */
export class TransferReassembler {
  readonly #limits: TransferLimits
  readonly #sink: TransferSink
  readonly #files = new Map<string, FileState>()
  readonly #ignored = new Set<string>()
  #pending: Pending | undefined

  constructor (limits: TransferLimits, sink: TransferSink) {
    this.#limits = limits
    this.#sink = sink
  }

  /** Transfers open (started, not completed). */
  get openCount (): number {
    return this.#files.size
  }

  /** Handles one decoded control frame. */
  control (message: TransferMessage): void {
    const raw = message as TransferMessage & Record<string, unknown>
    if (message.type === 'file_transfer_start') this.#start(message, transferIdOf(raw))
    else if (message.type === 'file_transfer_complete') this.#complete(message, transferIdOf(raw))
    else this.#announce(raw as BinaryMetadata & Record<string, unknown>, transferIdOf(raw))
  }

  /** Handles one binary frame; false when no metadata frame announced it. */
  binary (data: Buffer): boolean {
    const pending = this.#pending
    if (pending === undefined) return false
    this.#pending = undefined
    if (pending.discard) return true
    const { meta, file, label } = pending
    if (data.length !== meta.size) {
      this.#fail(pending.transferId, file, new TransferSizeError(label, `announced ${meta.size} bytes, received ${data.length}`))
      return true
    }
    if (typeof meta.checksum === 'string') {
      const actual = md5Hex(data)
      if (actual !== meta.checksum.toLowerCase()) {
        this.#fail(pending.transferId, file, new TransferChecksumError(label, meta.checksum, actual))
        return true
      }
    }
    if (file === undefined) {
      this.#sink.binary({ transferId: pending.transferId, data, metadata: meta })
      return true
    }
    file.chunks.push(data)
    file.md5.update(data)
    file.received += data.length
    file.nextChunk++
    return true
  }

  /** Drops every open transfer (the connection closed); returns how many were open. */
  clear (): number {
    const open = this.#files.size
    this.#files.clear()
    this.#ignored.clear()
    this.#pending = undefined
    return open
  }

  #start (start: FileTransferStart, transferId: string | null): void {
    const key = transferId ?? ''
    const label = labelOf(transferId, start.filename)
    this.#ignored.delete(key)
    if (this.#files.has(key)) {
      this.#files.delete(key)
      this.#sink.error({ transferId, error: new TransferOrderError(label, 'a transfer with this id was already open; both are dropped') })
      this.#ignore(key)
      return
    }
    if (start.size > this.#limits.maxFileBytes) {
      this.#sink.error({ transferId, error: new TransferTooLargeError(label, start.size, this.#limits.maxFileBytes) })
      this.#ignore(key)
      return
    }
    if (this.#files.size >= this.#limits.maxConcurrentTransfers) {
      this.#sink.error({ transferId, error: new TransferLimitError(label, this.#files.size) })
      this.#ignore(key)
      return
    }
    this.#files.set(key, { transferId, key, start, chunks: [], md5: createHash('md5'), received: 0, nextChunk: 0 })
  }

  #announce (meta: BinaryMetadata & Record<string, unknown>, transferId: string | null): void {
    if (this.#pending !== undefined && !this.#pending.discard) {
      // The binary frame of the previous metadata never came.
      const previous = this.#pending
      this.#fail(previous.transferId, previous.file, new TransferOrderError(previous.label, 'a metadata frame came before the binary frame it announced'))
    }
    const isChunk = typeof meta.chunk_num === 'number'
    if (!isChunk) {
      const label = labelOf(transferId, meta.filename)
      const tooLarge = meta.size > this.#limits.maxFileBytes
      if (tooLarge) this.#sink.error({ transferId, error: new TransferTooLargeError(label, meta.size, this.#limits.maxFileBytes) })
      this.#pending = { transferId, label, meta, file: undefined, discard: tooLarge }
      return
    }
    const key = transferId ?? ''
    const file = this.#files.get(key)
    const label = labelOf(transferId, file?.start.filename)
    const discard = (): void => { this.#pending = { transferId, label, meta, file: undefined, discard: true } }
    if (this.#ignored.has(key)) return discard()
    if (file === undefined) {
      this.#sink.error({ transferId, error: new TransferOrderError(label, `chunk ${String(meta.chunk_num)} of a transfer that was not started`) })
      return discard()
    }
    if (meta.chunk_num !== file.nextChunk) {
      this.#fail(transferId, file, new TransferOrderError(label, `expected chunk ${file.nextChunk}, got chunk ${String(meta.chunk_num)}`))
      return discard()
    }
    const remaining = file.start.size - file.received
    if (meta.size > remaining || (typeof meta.chunk_size === 'number' && meta.chunk_size !== meta.size)) {
      this.#fail(transferId, file, new TransferSizeError(label, `chunk ${file.nextChunk} of ${meta.size} bytes does not fit the ${remaining} bytes left`))
      return discard()
    }
    this.#pending = { transferId, label, meta, file, discard: false }
  }

  #complete (complete: FileTransferComplete, transferId: string | null): void {
    const key = transferId ?? ''
    if (this.#ignored.delete(key)) return
    const file = this.#files.get(key)
    const label = labelOf(transferId, file?.start.filename ?? complete.filename)
    if (file === undefined) {
      this.#sink.error({ transferId, error: new TransferOrderError(label, 'completion of a transfer that was not started') })
      return
    }
    this.#files.delete(key)
    const aborted = (complete as FileTransferComplete & { aborted?: unknown }).aborted
    if (typeof aborted === 'string') {
      if (this.#pending?.file === file) this.#pending = undefined
      this.#sink.error({ transferId, error: new TransferAbortedError(label, aborted) })
      return
    }
    if (this.#pending?.file === file) {
      this.#pending = { ...this.#pending, discard: true }
      this.#sink.error({ transferId, error: new TransferOrderError(label, 'completion before the last chunk\'s binary frame') })
      return
    }
    if (complete.total_chunks !== file.nextChunk || file.start.total_chunks !== file.nextChunk) {
      this.#sink.error({
        transferId,
        error: new TransferOrderError(label, `${file.start.total_chunks} chunks announced, ${complete.total_chunks} completed, ${file.nextChunk} received`)
      })
      return
    }
    if (file.received !== file.start.size) {
      this.#sink.error({ transferId, error: new TransferSizeError(label, `announced ${file.start.size} bytes, received ${file.received}`) })
      return
    }
    const checksum = file.md5.digest('hex')
    if (typeof complete.checksum === 'string' && complete.checksum.toLowerCase() !== checksum) {
      this.#sink.error({ transferId, error: new TransferChecksumError(label, complete.checksum, checksum) })
      return
    }
    this.#sink.file({
      transferId,
      filename: file.start.filename,
      mimeType: file.start.mime_type ?? null,
      sessionId: file.start.session_id ?? null,
      description: file.start.description ?? null,
      size: file.received,
      totalChunks: file.nextChunk,
      checksum,
      data: Buffer.concat(file.chunks, file.received)
    })
  }

  #fail (transferId: string | null, file: FileState | undefined, error: CodedError): void {
    if (file !== undefined && this.#files.get(file.key) === file) {
      this.#files.delete(file.key)
      this.#ignore(file.key)
    }
    this.#sink.error({ transferId, error })
  }

  #ignore (key: string): void {
    this.#ignored.add(key)
    if (this.#ignored.size > MAX_IGNORED) {
      const oldest = this.#ignored.values().next().value as string
      this.#ignored.delete(oldest)
    }
  }
}
