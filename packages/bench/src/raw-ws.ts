import { connect as netConnect, type Socket } from 'node:net'

// A deliberately tiny WebSocket client for the scale scenario: one TCP socket, a fixed handshake, text frames
// out (masked with a zero key, which the framing allows and costs nothing to apply) and frames in (a server
// never masks). No extensions, no fragmentation on send, no validation. It exists so that one load-generator
// process can hold tens of thousands of devices without being the bottleneck: a `ws` client object per device
// costs several times the memory and CPU of this.

const KEY = 'YWlwLWJlbmNoLXNjYWxlIQ=='
const OP_TEXT = 0x1
const OP_CLOSE = 0x8
const OP_PING = 0x9
const OP_PONG = 0xa

/** What the owner of a {@link RawWebSocket} is told. */
export interface RawWebSocketEvents {
  /** The handshake succeeded: frames can be sent. */
  open: () => void
  /** One complete text frame. */
  text: (text: string) => void
  /** The connection is gone (refused, reset, closed by either side); called once. */
  close: () => void
}

/** Where and how to connect. */
export interface RawWebSocketTarget {
  host: string
  port: number
  path: string
  /** Source address of the TCP connection (any 127.x.y.z on loopback), to spread over several port ranges. */
  localAddress?: string
  /** The handshake must complete within this time, or the connection is dropped. */
  handshakeTimeoutMs: number
}

/** A text frame from the client: FIN + text, masked with the zero key. */
export function encodeClientText (text: string): Buffer {
  const payload = Buffer.from(text)
  const length = payload.length
  let header: Buffer
  if (length < 126) {
    header = Buffer.from([0x80 | OP_TEXT, 0x80 | length, 0, 0, 0, 0])
  } else if (length < 65536) {
    header = Buffer.from([0x80 | OP_TEXT, 0x80 | 126, length >> 8, length & 0xff, 0, 0, 0, 0])
  } else {
    header = Buffer.alloc(14)
    header[0] = 0x80 | OP_TEXT
    header[1] = 0x80 | 127
    header.writeBigUInt64BE(BigInt(length), 2)
  }
  return Buffer.concat([header, payload])
}

function control (opcode: number, payload: Buffer): Buffer {
  const length = Math.min(payload.length, 125)
  return Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | length, 0, 0, 0, 0]), payload.subarray(0, length)])
}

/** One client connection speaking the minimum of RFC 6455 a benchmark device needs. */
export class RawWebSocket {
  readonly #socket: Socket
  readonly #events: RawWebSocketEvents
  #open = false
  #closed = false
  #pending: Buffer | null = null
  #timer: NodeJS.Timeout | undefined

  constructor (target: RawWebSocketTarget, events: RawWebSocketEvents) {
    this.#events = events
    const socket = netConnect({ host: target.host, port: target.port, localAddress: target.localAddress })
    this.#socket = socket
    socket.setNoDelay(true)
    socket.on('connect', () => {
      socket.write(`GET ${target.path} HTTP/1.1\r\nHost: ${target.host}:${target.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`)
    })
    socket.on('data', (chunk) => this.#onData(chunk))
    socket.on('error', () => this.#end())
    socket.on('close', () => this.#end())
    this.#timer = setTimeout(() => this.#end(), target.handshakeTimeoutMs)
  }

  /** Sends an already encoded frame (see {@link encodeClientText}); ignored once closed. */
  sendFrame (frame: Buffer): void {
    if (this.#open && !this.#closed) this.#socket.write(frame)
  }

  /** Drops the connection at once (no close handshake). */
  destroy (): void {
    this.#end()
  }

  #end (): void {
    if (this.#closed) return
    this.#closed = true
    clearTimeout(this.#timer)
    this.#socket.destroy()
    this.#events.close()
  }

  #onData (chunk: Buffer): void {
    let data = this.#pending === null ? chunk : Buffer.concat([this.#pending, chunk])
    this.#pending = null
    if (!this.#open) {
      const end = data.indexOf('\r\n\r\n')
      if (end === -1) {
        if (data.length > 8192) this.#end()
        else this.#pending = data
        return
      }
      if (!data.subarray(0, 12).toString('latin1').startsWith('HTTP/1.1 101')) { this.#end(); return }
      this.#open = true
      clearTimeout(this.#timer)
      this.#events.open()
      data = data.subarray(end + 4)
    }
    let offset = 0
    while (!this.#closed && data.length - offset >= 2) {
      const b0 = data[offset] as number
      const b1 = data[offset + 1] as number
      let length = b1 & 0x7f
      let header = 2
      if (length === 126) {
        if (data.length - offset < 4) break
        length = data.readUInt16BE(offset + 2)
        header = 4
      } else if (length === 127) {
        if (data.length - offset < 10) break
        length = Number(data.readBigUInt64BE(offset + 2))
        header = 10
      }
      if ((b1 & 0x80) !== 0) header += 4 // a masking server is out of spec; skip the key, read as is
      if (data.length - offset < header + length) break
      const payload = data.subarray(offset + header, offset + header + length)
      offset += header + length
      const opcode = b0 & 0x0f
      if (opcode === OP_TEXT) this.#events.text(payload.toString())
      else if (opcode === OP_PING) this.#socket.write(control(OP_PONG, payload))
      else if (opcode === OP_CLOSE) this.#end()
    }
    if (!this.#closed && offset < data.length) this.#pending = Buffer.from(data.subarray(offset))
  }
}
