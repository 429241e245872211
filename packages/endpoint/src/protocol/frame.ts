import {
  decodeClientMessage, decodeServerMessage, decodeTransferMessage, encodeClientMessage, encodeServerMessage,
  type ClientMessage, type FrameCorrelation, type ProtocolError, type ServerMessage, type TransferMessage
} from '@aip/protocol'
import type { Transport } from '../transport.js'
import type { ProtocolEvents, ProtocolRole } from './types.js'

const TRANSFER_TYPE = /"type"\s*:\s*"(?:binary_data|file_transfer_start|file_transfer_complete)"/

/** A text frame that is no message of the role: a transfer control message, or what an `invalidFrame` reports. */
export type OtherFrame =
  | { readonly control: TransferMessage }
  | { readonly control?: undefined, readonly invalid: ProtocolEvents<ProtocolRole>['invalidFrame'] }

/**
 * What a text frame the role's decoder refused is (the slow path only: a message takes no allocation here): a
 * transfer control message when transfers are accepted and it decodes as one; otherwise the `invalidFrame` event,
 * with the transfer decoder's error when the frame names a transfer type, else the message decoder's.
 */
export function decodeOther (
  data: string, maxBytes: number, acceptTransfers: boolean, error: ProtocolError, correlation: FrameCorrelation | undefined
): OtherFrame {
  if (acceptTransfers) {
    const transfer = decodeTransferMessage(data, { maxBytes })
    if (transfer.ok) return { control: transfer.value }
    if (TRANSFER_TYPE.test(data)) return { invalid: { error: transfer.error, bytes: Buffer.byteLength(data) } }
  }
  return { invalid: { error, bytes: Buffer.byteLength(data), correlation } }
}

/** Decodes a text frame as a message the role receives (a client receives server messages, and the reverse). */
export function decodeFrame (role: ProtocolRole, data: string, limits: { maxBytes: number }): ReturnType<typeof decodeClientMessage> | ReturnType<typeof decodeServerMessage> {
  return role === 'client' ? decodeServerMessage(data, limits) : decodeClientMessage(data, limits)
}

/** Encodes a message the role sends, in the reference wire form. */
export function encodeFrame (role: ProtocolRole, message: unknown, options: { extra?: Readonly<Record<string, unknown>> | null, validate?: boolean }): string {
  return role === 'client' ? encodeClientMessage(message as ClientMessage, options) : encodeServerMessage(message as ServerMessage, options)
}

/**
 * Writes a frame without waiting: `post` when the transport has it (false when it is not open), else `send`.
 * `onError`: told of a failed write; without it, nothing waits for the write.
 */
export function postFrame (transport: Transport, frame: string, onError: ((err: unknown) => void) | undefined): boolean {
  if (transport.post !== undefined) return transport.post(frame, onError)
  transport.send(frame).catch(onError ?? ignoreWriteError)
  return true
}

function ignoreWriteError (): void {}
