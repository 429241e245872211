import { createServer, type Server } from 'node:http'
import net, { type AddressInfo, type Socket } from 'node:net'
import { transcript as referenceTranscript } from '@aip/test-support'
import { WebSocketServer, type WebSocket } from 'ws'
import { DeviceServerEndpoint, type DeviceServerOptions } from '@aip/device-server'
import type { DeviceClientEndpoint, DeviceClientEvents, DeviceClientOptions } from '../../src/index.js'
import { DeviceClientEndpoint as Client } from '../../src/index.js'

/** The subset of tap's Test the helpers need. */
export interface Teardown { teardown: (fn: () => unknown) => void }

/** A real DeviceServerEndpoint on 127.0.0.1 (port 0 unless given), with a restartable HTTP server. */
export interface TestServer {
  endpoint: DeviceServerEndpoint
  http: Server
  port: number
  wsUrl: string
  /** Stops the endpoint (1001 to every client) and closes the HTTP server. */
  close: () => Promise<void>
}

export async function startServer (t: Teardown, options: DeviceServerOptions = {}, port = 0): Promise<TestServer> {
  const endpoint = new DeviceServerEndpoint({ pingIntervalMs: 0, ...options })
  const http = createServer((_req, res) => { res.statusCode = 404; res.end() })
  const detach = endpoint.attach(http)
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject)
    http.listen(port, '127.0.0.1', () => resolve())
  })
  const bound = (http.address() as AddressInfo).port
  let closed: Promise<void> | undefined
  const close = (): Promise<void> => {
    closed ??= (async () => {
      await endpoint.stop()
      detach()
      http.closeAllConnections()
      await new Promise<void>((resolve) => http.close(() => resolve()))
    })()
    return closed
  }
  t.teardown(close)
  return { endpoint, http, port: bound, wsUrl: `ws://127.0.0.1:${bound}/ws`, close }
}

/**
 * A TCP proxy in front of a server: `stall()` stops forwarding both ways without closing (a half-open peer),
 * `cut()` destroys every socket (a network cut), `resume()` forwards again.
 */
export interface Proxy {
  port: number
  stall: () => void
  resume: () => void
  cut: () => void
  readonly connections: number
  close: () => Promise<void>
}

export async function startProxy (t: Teardown, targetPort: number): Promise<Proxy> {
  const sockets = new Set<Socket>()
  let stalled = false
  let accepted = 0
  const server = net.createServer((client) => {
    accepted++
    const upstream = net.connect(targetPort, '127.0.0.1')
    sockets.add(client)
    sockets.add(upstream)
    const forward = (from: Socket, to: Socket): void => {
      from.on('data', (chunk) => { if (!stalled) to.write(chunk) })
    }
    forward(client, upstream)
    forward(upstream, client)
    const drop = (): void => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    client.on('error', drop)
    upstream.on('error', drop)
    client.on('close', () => { if (!stalled) drop() })
    upstream.on('close', () => { if (!stalled) drop() })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const cut = (): void => { for (const socket of sockets) socket.destroy(); sockets.clear() }
  const close = async (): Promise<void> => {
    cut()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  t.teardown(close)
  return {
    port: (server.address() as AddressInfo).port,
    stall: () => { stalled = true },
    resume: () => { stalled = false },
    cut,
    get connections () { return accepted },
    close
  }
}

/** One connection of a scripted server: the frames it received, and helpers to answer. */
export interface ScriptedPeer {
  ws: WebSocket
  frames: Array<Record<string, any>>
  next: (match?: (frame: Record<string, any>) => boolean, timeoutMs?: number) => Promise<Record<string, any>>
  send: (frame: unknown) => void
}

/** A plain `ws` server whose behaviour the test scripts; `connection()` resolves with the next peer. */
export interface ScriptedServer {
  wss: WebSocketServer
  port: number
  wsUrl: string
  peers: ScriptedPeer[]
  connection: (timeoutMs?: number) => Promise<ScriptedPeer>
  close: () => Promise<void>
}

export async function startScripted (t: Teardown, options: { answerHeartbeats?: boolean } = {}): Promise<ScriptedServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()))
  const peers: ScriptedPeer[] = []
  const waiting: Array<(peer: ScriptedPeer) => void> = []
  wss.on('connection', (ws) => {
    const frames: Array<Record<string, any>> = []
    const waiters: Array<{ match: (f: Record<string, any>) => boolean, resolve: (f: Record<string, any>) => void }> = []
    let cursor = 0
    const peer: ScriptedPeer = {
      ws,
      frames,
      send: (frame) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
      next: async (match = () => true, timeoutMs = 5000) => {
        for (; cursor < frames.length; cursor++) {
          const frame = frames[cursor] as Record<string, any>
          if (match(frame)) { cursor++; return frame }
        }
        return await new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no matching frame within ${timeoutMs} ms`)), timeoutMs)
          waiters.push({ match, resolve: (f) => { clearTimeout(timer); resolve(f) } })
        })
      }
    }
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Record<string, any>
      frames.push(frame)
      if (options.answerHeartbeats !== false && frame.type === 'heartbeat' && frames.length > 1) {
        peer.send(serverFrame({ type: 'heartbeat', status: 'ok' }))
      }
      const at = waiters.findIndex((w) => w.match(frame))
      if (at !== -1) {
        const [waiter] = waiters.splice(at, 1)
        cursor = frames.length
        waiter?.resolve(frame)
      }
    })
    peers.push(peer)
    waiting.shift()?.(peer)
  })
  let taken = 0
  const close = async (): Promise<void> => {
    for (const client of wss.clients) client.terminate()
    await new Promise<void>((resolve) => wss.close(() => resolve()))
  }
  t.teardown(close)
  const port = (wss.address() as AddressInfo).port
  return {
    wss,
    port,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    peers,
    connection: async (timeoutMs = 5000) => {
      const index = taken++
      if (peers[index] !== undefined) return peers[index]
      return await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no connection within ${timeoutMs} ms`)), timeoutMs)
        waiting.push((peer) => { clearTimeout(timer); resolve(peer) })
      })
    },
    close
  }
}

const SERVER_FIELDS = ['type', 'status', 'user_request', 'agent_name', 'process_name', 'root_name', 'actions', 'messages',
  'error', 'session_id', 'task_name', 'timestamp', 'response_id', 'result'] as const

/** A 14-field ServerMessage in the reference form. */
export function serverFrame (fields: Record<string, unknown>): Record<string, unknown> {
  const frame: Record<string, unknown> = {}
  for (const key of SERVER_FIELDS) frame[key] = fields[key] ?? null
  frame.timestamp ??= new Date().toISOString().replace('Z', '000+00:00')
  frame.response_id ??= crypto.randomUUID()
  return frame
}

/** One line of a reference transcript. */
export interface WireLine { seq: number, conn: string, dir: 'client->server' | 'server->client', frame: Record<string, any> }

export function transcript (file: string): WireLine[] {
  return referenceTranscript(file) as WireLine[]
}

/** A client whose `stop()` is registered as teardown at once. */
export function client (t: Teardown, options: DeviceClientOptions): DeviceClientEndpoint {
  const device = new Client(options)
  t.teardown(() => device.stop())
  return device
}

/** The next event of `name` (optionally matching), or a rejection after `timeoutMs`. */
export function nextEvent<K extends keyof DeviceClientEvents> (
  device: DeviceClientEndpoint, name: K, match: (payload: DeviceClientEvents[K]) => boolean = () => true, timeoutMs = 5000
): Promise<DeviceClientEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { off(); reject(new Error(`no ${String(name)} event within ${timeoutMs} ms`)) }, timeoutMs)
    const off = device.on(name, (payload) => {
      if (!match(payload)) return
      clearTimeout(timer)
      off()
      resolve(payload)
    })
  })
}
