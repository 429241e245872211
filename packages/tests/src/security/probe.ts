import WebSocket, { type ClientOptions } from 'ws'

export type Frame = Record<string, any>

/** A raw ws client that records frames and its close. */
export class Probe {
  readonly ws: WebSocket
  readonly frames: Frame[] = []
  readonly closed: Promise<number>
  #waiters: Array<() => void> = []

  constructor (ws: WebSocket) {
    this.ws = ws
    ws.on('error', () => {})
    ws.on('message', (data) => {
      try { this.frames.push(JSON.parse(data.toString()) as Frame) } catch { this.frames.push({ raw: data.toString() }) }
      for (const w of this.#waiters.splice(0)) w()
    })
    this.closed = new Promise((resolve) => ws.on('close', (code) => { resolve(code); for (const w of this.#waiters.splice(0)) w() }))
  }

  static async open (url: string, options: ClientOptions = {}): Promise<Probe> {
    const ws = new WebSocket(url, options)
    await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject) })
    return new Probe(ws)
  }

  /** The HTTP status of a refused upgrade (0 when it was accepted). */
  static async status (url: string, options: ClientOptions = {}): Promise<number> {
    const ws = new WebSocket(url, options)
    return await new Promise((resolve) => {
      ws.once('unexpected-response', (_req, res) => { resolve(res.statusCode ?? 0); ws.terminate() })
      ws.once('open', () => { ws.terminate(); resolve(0) })
      ws.once('error', () => resolve(-1))
    })
  }

  send (frame: unknown): void { this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame)) }

  async next (match: (f: Frame) => boolean = () => true, timeoutMs = 3000): Promise<Frame | null> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const index = this.frames.findIndex(match)
      if (index !== -1) return this.frames.splice(index, 1)[0] as Frame
      if (Date.now() >= deadline || this.ws.readyState >= WebSocket.CLOSING) return null
      await new Promise<void>((resolve) => { this.#waiters.push(resolve); setTimeout(resolve, 50) })
    }
  }

  async ask (frame: unknown): Promise<Frame | null> {
    this.send(frame)
    return await this.next()
  }

  async register (clientId: string, extra: Frame = {}): Promise<Frame | null> {
    return await this.ask({ type: 'register', status: 'ok', client_type: 'device', client_id: clientId, metadata: { platform: 'linux' }, ...extra })
  }

  /** Sends and resolves once the frame is written to the socket (bounds the client's own buffer). */
  async sendWritten (frame: unknown): Promise<void> {
    await new Promise<void>((resolve) => this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame), () => resolve()))
  }

  /** The close code, or 0 when the connection is still open after `ms`. */
  async closedWithin (ms: number): Promise<number> {
    let timer: NodeJS.Timeout | undefined
    const code = await Promise.race([this.closed, new Promise<number>((resolve) => { timer = setTimeout(() => resolve(0), ms) })])
    clearTimeout(timer)
    return code
  }

  get isOpen (): boolean { return this.ws.readyState === WebSocket.OPEN }

  close (): void { this.ws.terminate() }
}
