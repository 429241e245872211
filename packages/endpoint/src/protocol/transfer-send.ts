import { createHash } from 'node:crypto'
import { newId, timestamp } from '@aip/protocol'
import { AbortedError, InvalidArgumentError, describeValue } from '@aip/resilience'
import { TransferSizeError, TransportClosedError } from '../errors.js'
import { md5Hex } from './transfer-receive.js'
import type { Transport } from '../transport.js'
import type { BinaryMetadataInput, FileSource, SendFileOptions, SentFile } from './types.js'

/** What the senders need of their protocol: its write queue and its raw frame writes. */
export interface TransferLink {
  /** True while the connection is open. */
  readonly isOpen: boolean
  /** The protocol's default chunk size. */
  readonly chunkSize: number
  /** Writes one text frame. */
  raw: (frame: string) => Promise<void>
  /** Writes a metadata text frame and its bytes with nothing in between. */
  rawPair: (meta: string, data: Uint8Array) => Promise<void>
  /** Runs `job` in the protocol's write order, refusing when the connection is closed. */
  guardedWrite: (job: () => Promise<void>) => Promise<void>
}

function optional (key: string, value: string | undefined): Record<string, string> {
  return value === undefined ? {} : { [key]: value }
}

/**
 * The view of a protocol the transfer senders use: `write` runs a job in the protocol's write order; the link's
 * `guardedWrite` refuses (`AIP_ERR_ENDPOINT_TRANSPORT_CLOSED`) once the protocol is closed.
 */
export function createTransferLink (
  protocol: { readonly isOpen: boolean, readonly transport: Transport, readonly options: { readonly chunkSize: number } },
  write: (job: () => Promise<void>) => Promise<void>
): TransferLink {
  const transport = protocol.transport
  return {
    get isOpen () { return protocol.isOpen },
    chunkSize: protocol.options.chunkSize,
    raw: (frame) => transport.send(frame),
    rawPair: async (meta, data) => {
      // Both writes are queued on the socket before either completes: nothing can come between them.
      const first = transport.send(meta)
      const second = transport.send(data)
      await Promise.all([first, second])
    },
    guardedWrite: (job) => write(async () => {
      if (!protocol.isOpen) throw new TransportClosedError()
      await job()
    })
  }
}

/**
 * Sends one binary payload: a `binary_data` metadata text frame (with `size`, the MD5 `checksum` and our
 * `transfer_id`), then the bytes as one binary frame. Resolves with the transfer id.
 */
export async function sendBinary (link: TransferLink, data: Uint8Array, metadata: BinaryMetadataInput): Promise<string> {
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
  await link.guardedWrite(() => link.rawPair(JSON.stringify(frame), data))
  return transferId
}

/**
 * Sends a file in chunks, in the reference's frame sequence: `file_transfer_start`, for each chunk a
 * `binary_data` metadata frame and a binary frame, then `file_transfer_complete` with the MD5 of the whole file
 * (or, when the source failed or was aborted, our `aborted` key instead).
 */
export async function sendFile (link: TransferLink, source: FileSource, options: SendFileOptions): Promise<SentFile> {
  if (typeof options?.filename !== 'string') {
    throw new InvalidArgumentError('options.filename', 'a string', describeValue(options?.filename))
  }
  const whole = source instanceof Uint8Array
  const size = whole ? source.byteLength : options.size
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw new InvalidArgumentError('options.size', 'the total size in bytes (an integer >= 0) for a stream', describeValue(size))
  }
  const chunkSize = options.chunkSize ?? link.chunkSize
  if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) {
    throw new InvalidArgumentError('options.chunkSize', 'an integer >= 1', describeValue(chunkSize))
  }
  if (!link.isOpen) throw new TransportClosedError()
  const transferId = options.transferId ?? newId()
  const totalChunks = Math.ceil(size / chunkSize)
  const label = `transfer ${transferId} (${options.filename})`
  const run = async (write: (job: () => Promise<void>) => Promise<void>): Promise<SentFile> => {
    await write(() => link.raw(JSON.stringify({
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
      await write(() => link.rawPair(JSON.stringify(meta), chunk))
      sent += chunk.byteLength
      chunkNum++
    }
    if (failure === undefined && sent !== size) {
      failure = new TransferSizeError(label, `the source yielded ${sent} of the ${size} bytes announced`)
    }
    const checksum = md5.digest('hex')
    await write(() => link.raw(JSON.stringify({
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
    await link.guardedWrite(async () => { result = await run((job) => job()) })
    return result as SentFile
  }
  return await run((job) => link.guardedWrite(job))
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
