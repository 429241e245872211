import type { Socket } from 'node:net'
import type { FaultProxy } from '../proxy.js'

/** One WebSocket frame seen by {@link recordFrames}. */
export interface WireEntry {
  /** The label given to {@link recordFrames} (which link). */
  readonly link: string
  /** The proxied connection's number on its proxy. */
  readonly connection: number
  /** `up`: client to server; `down`: server to client. */
  readonly direction: 'up' | 'down'
  /** A text frame's JSON (or its text when it is not JSON), or `{ close: code }` for a close frame. */
  readonly frame: unknown
  readonly at: number
}

/**
 * Decodes the WebSocket text and close frames of every connection of `proxy` (both ways, unmasking the client's),
 * and passes each to `sink`. No compression is negotiated between our peers, so the payloads are plain text. For
 * transcripts: the proxy forwards the bytes untouched.
 */
export function recordFrames (proxy: FaultProxy, link: string, sink: (entry: WireEntry) => void): void {
  proxy.onConnection = (connection) => {
    watch(connection.client, (frame) => sink({ link, connection: connection.id, direction: 'up', frame, at: Date.now() }))
    watch(connection.upstream, (frame) => sink({ link, connection: connection.id, direction: 'down', frame, at: Date.now() }))
  }
}

function watch (socket: Socket, emit: (frame: unknown) => void): void {
  let buffer = Buffer.alloc(0)
  let upgraded = false
  let fragments: Buffer[] = []
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk])
    if (!upgraded) {
      // The HTTP upgrade request or answer comes first.
      const end = buffer.indexOf('\r\n\r\n')
      if (end === -1) return
      buffer = buffer.subarray(end + 4)
      upgraded = true
    }
    // Whole frames only; the rest waits for the next chunk. Bounded: each turn consumes one frame.
    for (;;) {
      if (buffer.length < 2) return
      const first = buffer[0] as number
      const second = buffer[1] as number
      let length = second & 0x7f
      let offset = 2
      if (length === 126) {
        if (buffer.length < 4) return
        length = buffer.readUInt16BE(2)
        offset = 4
      } else if (length === 127) {
        if (buffer.length < 10) return
        length = Number(buffer.readBigUInt64BE(2))
        offset = 10
      }
      const masked = (second & 0x80) !== 0
      const mask = masked ? buffer.subarray(offset, offset + 4) : null
      if (masked) offset += 4
      if (buffer.length < offset + length) return
      const payload = Buffer.from(buffer.subarray(offset, offset + length))
      buffer = buffer.subarray(offset + length)
      if (mask !== null) for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] as number) ^ (mask[i % 4] as number)
      const opcode = first & 0x0f
      const fin = (first & 0x80) !== 0
      if (opcode === 8) {
        emit({ close: payload.length >= 2 ? payload.readUInt16BE(0) : null })
      } else if (opcode === 1 || opcode === 0) {
        fragments.push(payload)
        if (!fin) continue
        const text = Buffer.concat(fragments).toString('utf8')
        fragments = []
        try {
          emit(JSON.parse(text) as unknown)
        } catch {
          emit(text)
        }
      }
    }
  })
}
