import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import WebSocket, { type ClientOptions } from 'ws'
import { aipPlugin, type AipOptions } from '../../src/index.js'

/** The subset of tap's Test the helpers need. */
export interface Teardown { teardown: (fn: () => unknown) => void }

export const TOKEN = 'ws-token-s3cret'
export const API_KEY = 'api-key-s3cret'

/** Collects every log line of an app (JSON objects), to check what is logged and what is not. */
export function logCapture (): { stream: Writable, lines: Array<Record<string, any>>, text: () => string } {
  const raw: string[] = []
  const stream = new Writable({
    write (chunk: Buffer, _encoding, callback) { raw.push(chunk.toString()); callback() }
  })
  return {
    stream,
    get lines () { return raw.join('').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, any>) },
    text: () => raw.join('')
  }
}

/** A Fastify app with the plugin (pings off unless asked), closed at teardown. */
export async function buildApp (
  t: Teardown, options: AipOptions = {}, fastifyOptions: FastifyServerOptions = {}, setup?: (app: FastifyInstance) => void
): Promise<FastifyInstance> {
  const app = Fastify(fastifyOptions)
  t.teardown(() => app.close())
  await app.register(aipPlugin, { pingIntervalMs: 0, ...options })
  setup?.(app)
  await app.ready()
  return app
}

/** Listens on 127.0.0.1, port 0; returns the WebSocket base URL (`ws://127.0.0.1:<port>`) and the HTTP one. */
export async function listen (app: FastifyInstance): Promise<{ ws: string, http: string }> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  return { ws: `ws://127.0.0.1:${port}`, http: `http://127.0.0.1:${port}` }
}

export interface Closed { code: number, reason: string }

/**
 * A raw WebSocket client that records every frame: `next()` takes them in order, `send()` writes objects as JSON
 * (or text as is). `closed` resolves with the close code. Wraps a real socket or one from `injectWS`.
 */
export class TestClient {
  readonly ws: WebSocket
  readonly frames: unknown[] = []
  readonly closed: Promise<Closed>
  #waiters: Array<(frame: unknown) => void> = []

  constructor (ws: WebSocket) {
    this.ws = ws
    ws.on('message', (data, isBinary) => {
      const text = data.toString()
      let frame: unknown = text
      if (!isBinary) {
        try { frame = JSON.parse(text) } catch { frame = text }
      }
      const waiter = this.#waiters.shift()
      if (waiter !== undefined) waiter(frame)
      else this.frames.push(frame)
    })
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })))
  }

  static async connect (t: Teardown, url: string, options: ClientOptions = {}): Promise<TestClient> {
    const ws = new WebSocket(url, options)
    const client = new TestClient(ws)
    t.teardown(() => ws.terminate())
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve())
      ws.once('error', reject)
    })
    return client
  }

  /** Through `app.injectWS`: no network. Listeners are attached before the upgrade completes. */
  static async inject (t: Teardown, app: FastifyInstance, path: string): Promise<TestClient> {
    let client: TestClient | undefined
    await app.injectWS(path, {}, { onInit: (socket) => { client = new TestClient(socket) } })
    const injected = client as TestClient
    t.teardown(() => injected.ws.terminate())
    return injected
  }

  /** Connection attempt that is expected to be refused: resolves with the HTTP status. */
  static async refusedStatus (url: string, options: ClientOptions = {}): Promise<number> {
    const ws = new WebSocket(url, options)
    return await new Promise<number>((resolve, reject) => {
      ws.once('unexpected-response', (_req, res) => { resolve(res.statusCode ?? 0); ws.terminate() })
      ws.once('open', () => { ws.terminate(); reject(new Error('the upgrade was accepted')) })
      ws.once('error', () => {})
    })
  }

  send (frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame))
  }

  /** The next frame from the server (waits for it; rejects after `timeoutMs`). */
  async next<T = Record<string, any>>(timeoutMs = 5000): Promise<T> {
    const queued = this.frames.shift()
    if (queued !== undefined) return queued as T
    return await new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no frame within ${timeoutMs} ms`)), timeoutMs)
      this.#waiters.push((frame) => { clearTimeout(timer); resolve(frame as T) })
    })
  }

  /** Sends `frame` and returns the next frame. */
  async ask<T = Record<string, any>>(frame: unknown): Promise<T> {
    this.send(frame)
    return await this.next<T>()
  }
}

/** A REGISTER frame of a device, as the Python client writes its essentials. */
export function deviceRegister (clientId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'register', status: 'ok', client_type: 'device', client_id: clientId, metadata: { platform: 'windows' }, ...extra }
}

/** A REGISTER frame of a constellation scoped to `targetId`. */
export function constellationRegister (clientId: string, targetId: string | null): Record<string, unknown> {
  return { type: 'register', status: 'ok', client_type: 'constellation', client_id: clientId, target_id: targetId }
}

async function registered (client: TestClient, frame: Record<string, unknown>): Promise<TestClient> {
  const answer = await client.ask(frame)
  if (answer.type !== 'heartbeat' || answer.status !== 'ok') throw new Error(`registration failed: ${JSON.stringify(answer)}`)
  return client
}

/** Registers a device over a real socket and returns its client after the HEARTBEAT ok. */
export async function registeredDevice (t: Teardown, url: string, clientId: string): Promise<TestClient> {
  return await registered(await TestClient.connect(t, url), deviceRegister(clientId))
}

export async function registeredConstellation (t: Teardown, url: string, clientId: string, targetId: string | null): Promise<TestClient> {
  return await registered(await TestClient.connect(t, url), constellationRegister(clientId, targetId))
}

/** Registers a device through `injectWS`. */
export async function injectedDevice (t: Teardown, app: FastifyInstance, path: string, clientId: string): Promise<TestClient> {
  return await registered(await TestClient.inject(t, app, path), deviceRegister(clientId))
}

/**
 * Answers every COMMAND the device receives with one success Result per action (the capture's stub tools); a
 * server TASK (HTTP dispatch) is turned into the device's own TASK, as the Python device does. The frames still
 * reach `next()` as well.
 */
export function echoDevice (client: TestClient, clientId: string): void {
  client.ws.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as Record<string, any>
    if (frame.type === 'task') {
      client.send({ type: 'task', status: 'continue', client_type: 'device', client_id: clientId, session_id: null, task_name: frame.task_name, request: frame.user_request })
      return
    }
    if (frame.type !== 'command') return
    client.send({
      type: 'command_results',
      status: 'continue',
      client_type: 'device',
      client_id: clientId,
      session_id: frame.session_id,
      prev_response_id: frame.response_id,
      action_results: frame.actions.map((a: any) => ({ status: 'success', error: null, result: { echo: a.tool_name, params: a.parameters }, namespace: 'stub', call_id: a.call_id }))
    })
  })
}

/** Takes frames until one matches; the others are returned too, in order. */
export async function until (client: TestClient, match: (frame: Record<string, any>) => boolean, limit = 50): Promise<{ frame: Record<string, any>, skipped: Array<Record<string, any>> }> {
  const skipped: Array<Record<string, any>> = []
  for (let i = 0; i < limit; i++) {
    const frame = await client.next()
    if (match(frame)) return { frame, skipped }
    skipped.push(frame)
  }
  throw new Error(`no matching frame among ${limit}`)
}
