import { createServer, type Server } from 'node:http'
import net, { type AddressInfo, type Socket } from 'node:net'
import { DeviceServerEndpoint, type Agent, type DeviceServerOptions } from '@aip/device-server'
import WebSocket, { WebSocketServer } from 'ws'

/** The subset of tap's Test the helpers need. */
export interface Teardown { teardown: (fn: () => unknown) => void }

/** An agent that runs one COMMAND (`work`, with the task's request as `ms` when it is a number). */
export const workAgent: Agent = async (task, ctx) => {
  const ms = Number(task.request)
  const results = await ctx.execute([{ tool_name: 'work', parameters: { ms: Number.isFinite(ms) ? ms : 0 }, tool_type: 'action' }], { timeoutMs: 10_000 })
  return { status: results.every((r) => r.status === 'success') ? 'completed' : 'failed' }
}

/** A real DeviceServerEndpoint on 127.0.0.1, which can be stopped and started again on the same port. */
export class TestServer {
  endpoint!: DeviceServerEndpoint
  http!: Server
  port = 0
  readonly #options: DeviceServerOptions
  #detach: (() => void) | undefined

  private constructor (options: DeviceServerOptions) {
    this.#options = options
  }

  static async start (t: Teardown, options: DeviceServerOptions = {}): Promise<TestServer> {
    const server = new TestServer({ pingIntervalMs: 0, agent: workAgent, ...options })
    await server.start()
    t.teardown(() => server.stop())
    return server
  }

  /** `ws://127.0.0.1:<port>/ws` (with `?token=` when the server has one). */
  get wsUrl (): string {
    const token = this.#options.token
    return `ws://127.0.0.1:${this.port}/ws${typeof token === 'string' ? `?token=${token}` : ''}`
  }

  async start (): Promise<void> {
    this.endpoint = new DeviceServerEndpoint(this.#options)
    this.http = createServer((_req, res) => { res.statusCode = 404; res.end() })
    this.#detach = this.endpoint.attach(this.http)
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject)
      this.http.listen(this.port, '127.0.0.1', () => { this.http.off('error', reject); resolve() })
    })
    this.port = (this.http.address() as AddressInfo).port
  }

  async stop (): Promise<void> {
    if (this.#detach === undefined) return
    const detach = this.#detach
    this.#detach = undefined
    await this.endpoint.stop()
    detach()
    this.http.closeAllConnections()
    await new Promise<void>((resolve) => this.http.close(() => resolve()))
  }
}

/**
 * A device simulated with a raw `ws` client: registers, then answers every COMMAND with one success Result per
 * action, after `parameters.ms` milliseconds (the stub tools of the capture).
 */
export class SimDevice {
  ws: WebSocket | undefined
  readonly deviceId: string
  url: string
  #timers = new Set<NodeJS.Timeout>()

  constructor (url: string, deviceId: string) {
    this.url = url
    this.deviceId = deviceId
  }

  static async start (t: Teardown, url: string, deviceId: string): Promise<SimDevice> {
    const device = new SimDevice(url, deviceId)
    t.teardown(() => device.kill())
    await device.connect()
    return device
  }

  get connected (): boolean {
    return this.ws?.readyState === WebSocket.OPEN
  }

  #connecting: Promise<void> | undefined

  /** Connects and registers (a call while connected or connecting joins that). */
  async connect (): Promise<void> {
    if (this.connected && this.#registered) return
    this.#connecting ??= this.#connect().finally(() => { this.#connecting = undefined })
    return await this.#connecting
  }

  #registered = false

  async #connect (): Promise<void> {
    this.#registered = false
    // Bounded: on a busy machine a restarting server's port can briefly belong to someone else (or to this very
    // socket, a TCP self-connect), and an attempt that never ends would hang the caller's retry loop.
    const ws = new WebSocket(this.url, { handshakeTimeout: 2000 })
    this.ws = ws
    ws.on('error', () => {})
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve())
      ws.once('error', reject)
      ws.once('close', () => reject(new Error(`${this.deviceId}: closed before open`)))
    })
    const answer = new Promise<Record<string, any>>((resolve, reject) => {
      const timer = setTimeout(() => { ws.terminate(); reject(new Error(`${this.deviceId}: no registration answer`)) }, 2000)
      ws.once('message', (data) => { clearTimeout(timer); resolve(JSON.parse(data.toString())) })
      ws.once('close', () => { clearTimeout(timer); reject(new Error(`${this.deviceId}: closed before the registration answer`)) })
    })
    ws.send(JSON.stringify({ type: 'register', status: 'ok', client_type: 'device', client_id: this.deviceId, metadata: { platform: 'windows', system_info: { device_id: this.deviceId, platform: 'linux', cpu_count: 2 } } }))
    const reply = await answer
    if (reply.type !== 'heartbeat' || reply.status !== 'ok') {
      ws.terminate()
      throw new Error(`registration of ${this.deviceId} failed: ${JSON.stringify(reply)}`)
    }
    this.#registered = true
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Record<string, any>
      if (frame.type !== 'command') return
      const ms = Number(frame.actions?.[0]?.parameters?.ms ?? 0)
      const timer = setTimeout(() => {
        this.#timers.delete(timer)
        if (ws.readyState !== WebSocket.OPEN) return
        ws.send(JSON.stringify({
          type: 'command_results',
          status: 'continue',
          client_type: 'device',
          client_id: this.deviceId,
          session_id: frame.session_id,
          prev_response_id: frame.response_id,
          action_results: frame.actions.map((a: any) => ({ status: 'success', error: null, result: { echo: a.tool_name }, namespace: 'stub', call_id: a.call_id }))
        }))
      }, ms)
      this.#timers.add(timer)
    })
  }

  /** Drops the connection at once (like a crash). */
  kill (): void {
    for (const timer of this.#timers) clearTimeout(timer)
    this.#timers.clear()
    this.ws?.terminate()
  }
}

/** Resolves when `predicate` holds, polling every 5 ms; rejects after `timeoutMs`. */
export async function waitFor (predicate: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const started = Date.now()
  while (!predicate()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** A scripted WebSocket server: `onConnection` gets each socket and a `next()` over its frames. */
export interface ScriptedSocket {
  ws: WebSocket
  /** The next text frame, parsed. */
  next: (timeoutMs?: number) => Promise<Record<string, any>>
  send: (frame: unknown) => void
}

export async function scriptedServer (t: Teardown, onConnection: (socket: ScriptedSocket) => void | Promise<void>): Promise<{ url: string, wss: WebSocketServer }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()))
  wss.on('connection', (ws) => {
    const frames: Array<Record<string, any>> = []
    const waiters: Array<(frame: Record<string, any>) => void> = []
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Record<string, any>
      const waiter = waiters.shift()
      if (waiter !== undefined) waiter(frame)
      else frames.push(frame)
    })
    const socket: ScriptedSocket = {
      ws,
      next: async (timeoutMs = 5000) => {
        const queued = frames.shift()
        if (queued !== undefined) return queued
        return await new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no frame within ${timeoutMs} ms`)), timeoutMs)
          timer.unref()
          waiters.push((frame) => { clearTimeout(timer); resolve(frame) })
        })
      },
      send: (frame) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame))
    }
    Promise.resolve(onConnection(socket)).catch(() => ws.terminate())
  })
  t.teardown(async () => {
    for (const client of wss.clients) client.terminate()
    await new Promise<void>((resolve) => wss.close(() => resolve()))
  })
  const { port } = wss.address() as AddressInfo
  return { url: `ws://127.0.0.1:${port}/ws`, wss }
}

/** A ServerMessage in the reference form: every field, in order, null when unset. */
export function serverFrame (fields: Record<string, unknown>): Record<string, unknown> {
  return {
    type: null,
    status: null,
    user_request: null,
    agent_name: null,
    process_name: null,
    root_name: null,
    actions: null,
    messages: null,
    error: null,
    session_id: null,
    task_name: null,
    timestamp: new Date().toISOString(),
    response_id: crypto.randomUUID(),
    result: null,
    ...fields
  }
}

/** A TCP proxy in front of a port: `cut()` destroys every socket it carries (a network cut); `connections` counts them. */
export async function tcpProxy (t: Teardown, targetPort: number): Promise<{ port: number, cut: () => void, readonly connections: number }> {
  const sockets = new Set<Socket>()
  let accepted = 0
  const server = net.createServer((client) => {
    accepted++
    const upstream = net.connect(targetPort, '127.0.0.1')
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('error', () => { client.destroy(); upstream.destroy() })
      socket.on('close', () => { sockets.delete(socket); client.destroy(); upstream.destroy() })
    }
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const cut = (): void => { for (const socket of sockets) socket.destroy() }
  t.teardown(async () => {
    cut()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
  return { port: (server.address() as AddressInfo).port, cut, get connections () { return accepted } }
}
