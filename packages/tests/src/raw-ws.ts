import { randomBytes } from 'node:crypto'
import { connect, type Socket } from 'node:net'

/** A frame received by {@link RawWebSocket}. */
export interface RawFrame { opcode: number, payload: Buffer }

/**
 * A bare WebSocket client over a TCP socket, for what `ws` will not do: write a frame a few bytes at a time,
 * hold the handshake or the first frame back, send invalid UTF-8 as text.
 */
export class RawWebSocket {
  readonly socket: Socket
  #buffer = Buffer.alloc(0)
  readonly #frames: RawFrame[] = []
  readonly #waiters: Array<(frame: RawFrame | null) => void> = []
  closed = false
  /** The close code the server sent, if any. */
  closeCode: number | null = null

  private constructor (socket: Socket) {
    this.socket = socket
  }

  /** Opens a TCP connection and completes the upgrade; rejects with the HTTP status line otherwise. */
  static async connect (port: number, path = '/ws', headers: Record<string, string> = {}): Promise<RawWebSocket> {
    const socket = connect({ host: '127.0.0.1', port, noDelay: true })
    const client = new RawWebSocket(socket)
    socket.on('error', () => {})
    const key = randomBytes(16).toString('base64')
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => {
        socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`)
      })
      let head = Buffer.alloc(0)
      const onData = (chunk: Buffer): void => {
        head = Buffer.concat([head, chunk])
        const end = head.indexOf('\r\n\r\n')
        if (end === -1) return
        socket.off('data', onData)
        const status = head.subarray(0, head.indexOf('\r\n')).toString()
        if (!status.includes(' 101 ')) { socket.destroy(); reject(new Error(status)); return }
        client.#listen(head.subarray(end + 4))
        resolve()
      }
      socket.on('data', onData)
      socket.once('close', () => reject(new Error('closed during the handshake')))
    })
    return client
  }

  #listen (rest: Buffer): void {
    this.socket.on('data', (chunk: Buffer) => this.#feed(chunk))
    this.socket.on('close', () => {
      this.closed = true
      for (const waiter of this.#waiters.splice(0)) waiter(null)
    })
    if (rest.length > 0) this.#feed(rest)
  }

  #feed (chunk: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, chunk])
    for (;;) {
      const b = this.#buffer
      if (b.length < 2) return
      let length = (b[1] as number) & 0x7f
      let offset = 2
      if (length === 126) { if (b.length < 4) return; length = b.readUInt16BE(2); offset = 4 }
      if (length === 127) { if (b.length < 10) return; length = Number(b.readBigUInt64BE(2)); offset = 10 }
      if (b.length < offset + length) return
      const frame = { opcode: (b[0] as number) & 0x0f, payload: Buffer.from(b.subarray(offset, offset + length)) }
      this.#buffer = b.subarray(offset + length)
      if (frame.opcode === 0x9) { this.socket.write(encodeFrame(0xA, frame.payload)); continue }
      if (frame.opcode === 0x8 && frame.payload.length >= 2) this.closeCode = frame.payload.readUInt16BE(0)
      const waiter = this.#waiters.shift()
      if (waiter !== undefined) waiter(frame)
      else this.#frames.push(frame)
    }
  }

  /** The next frame, or null when the connection closed first or nothing came within `timeoutMs`. */
  async next (timeoutMs = 5000): Promise<RawFrame | null> {
    const queued = this.#frames.shift()
    if (queued !== undefined) return queued
    if (this.closed) return null
    return await new Promise((resolve) => {
      const timer = setTimeout(() => { const i = this.#waiters.indexOf(done); if (i !== -1) this.#waiters.splice(i, 1); resolve(null) }, timeoutMs)
      const done = (frame: RawFrame | null): void => { clearTimeout(timer); resolve(frame) }
      this.#waiters.push(done)
    })
  }

  /** Writes a whole frame at once. */
  send (payload: Buffer | string, opcode = 0x1): void {
    this.socket.write(encodeFrame(opcode, typeof payload === 'string' ? Buffer.from(payload) : payload))
  }

  /** Writes a frame in pieces of `pieceBytes`, waiting `gapMs` between them. */
  async trickle (payload: Buffer | string, pieceBytes: number, gapMs: number, opcode = 0x1): Promise<void> {
    const bytes = encodeFrame(opcode, typeof payload === 'string' ? Buffer.from(payload) : payload)
    for (let i = 0; i < bytes.length && !this.closed; i += pieceBytes) {
      this.socket.write(bytes.subarray(i, i + pieceBytes))
      await new Promise((resolve) => setTimeout(resolve, gapMs))
    }
  }

  /** Resolves when the TCP connection is closed (at most `timeoutMs`). */
  async waitClosed (timeoutMs = 5000): Promise<boolean> {
    if (this.closed) return true
    return await new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs)
      this.socket.once('close', () => { clearTimeout(timer); resolve(true) })
    })
  }

  destroy (): void {
    this.socket.destroy()
  }
}

/** A masked client frame with FIN set. */
export function encodeFrame (opcode: number, payload: Buffer): Buffer {
  const length = payload.length
  const head = length < 126 ? 2 : length < 65536 ? 4 : 10
  const out = Buffer.alloc(head + 4 + length)
  out[0] = 0x80 | opcode
  if (length < 126) out[1] = 0x80 | length
  else if (length < 65536) { out[1] = 0x80 | 126; out.writeUInt16BE(length, 2) } else { out[1] = 0x80 | 127; out.writeBigUInt64BE(BigInt(length), 2) }
  const mask = randomBytes(4)
  mask.copy(out, head)
  for (let i = 0; i < length; i++) out[head + 4 + i] = (payload[i] as number) ^ (mask[i & 3] as number)
  return out
}
