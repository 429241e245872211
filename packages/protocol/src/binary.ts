import { Type, type Static } from '@sinclair/typebox'
import { nullable } from './nullable.js'

const size = (description: string) => Type.Integer({ minimum: 0, description })

/**
 * The text frame that announces one binary frame. The binary frame follows it on the same connection.
 * Extra keys are allowed (ours: `transfer_id`).
 */
export const BinaryMetadata = Type.Object({
  type: Type.Literal('binary_data'),
  filename: nullable(Type.String()),
  mime_type: nullable(Type.String()),
  size: size('Size of the binary payload in bytes'),
  checksum: nullable(Type.String({ description: 'MD5 (hex) of the payload' })),
  session_id: nullable(Type.String()),
  description: nullable(Type.String()),
  timestamp: nullable(Type.String())
}, { description: 'Announces one binary frame' })
export type BinaryMetadata = Static<typeof BinaryMetadata>

/** Opens a chunked file transfer. */
export const FileTransferStart = Type.Object({
  type: Type.Literal('file_transfer_start'),
  filename: Type.String(),
  size: size('Total file size in bytes'),
  chunk_size: size('Size of each chunk in bytes'),
  total_chunks: size('Number of chunks'),
  mime_type: nullable(Type.String()),
  session_id: nullable(Type.String()),
  description: nullable(Type.String())
}, { description: 'Opens a chunked file transfer' })
export type FileTransferStart = Static<typeof FileTransferStart>

/** Describes one chunk; sent as the metadata of the binary frame that carries the chunk. */
export const ChunkMetadata = Type.Object({
  chunk_num: size('Chunk sequence number, from 0'),
  chunk_size: size('Size of this chunk in bytes'),
  checksum: nullable(Type.String({ description: 'MD5 (hex) of this chunk' }))
}, { description: 'Describes one chunk of a file transfer' })
export type ChunkMetadata = Static<typeof ChunkMetadata>

/** Closes a chunked file transfer; `checksum` is the MD5 (hex) of the whole file. */
export const FileTransferComplete = Type.Object({
  type: Type.Literal('file_transfer_complete'),
  filename: Type.String(),
  total_chunks: size('Number of chunks sent'),
  checksum: nullable(Type.String({ description: 'MD5 (hex) of the whole file' })),
  session_id: nullable(Type.String())
}, { description: 'Closes a chunked file transfer' })
export type FileTransferComplete = Static<typeof FileTransferComplete>

/** Any of the transfer control messages (they are told apart by `type`). */
export const TransferMessage = Type.Union([BinaryMetadata, FileTransferStart, FileTransferComplete])
export type TransferMessage = Static<typeof TransferMessage>
