import WebSocket, { type ClientOptions } from 'ws'

// A raw WebSocket peer for server tests: it writes whatever frame a test gives it (valid or not) and records every
// frame the server sends, so a test can check the exact wire conversation.

/** What the helpers need of a tap test: a place to register cleanup. */
export interface Teardown { teardown: (fn: () => unknown) => void }

/** How a connection ended: the close code and reason the client saw. */
export interface Closed { code: number, reason: string }

/**
 * A raw WebSocket client that records every frame: `next()` takes them in order, `send()` writes objects as JSON
 * (or text as is). `closed` resolves with the close code. Wraps a real socket or one from Fastify's `injectWS`.
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

  /** Opens a real connection (terminated at teardown). */
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

/** Sends a REGISTER frame and returns the client once the server confirmed it (HEARTBEAT ok); throws otherwise. */
export async function registered (client: TestClient, frame: Record<string, unknown>): Promise<TestClient> {
  const answer = await client.ask(frame)
  if (answer.type !== 'heartbeat' || answer.status !== 'ok') throw new Error(`registration of ${String(frame.client_id)} failed: ${JSON.stringify(answer)}`)
  return client
}

/** Connects and registers a device; returns its client after the HEARTBEAT ok. */
export async function registeredDevice (t: Teardown, url: string, clientId: string, extra: Record<string, unknown> = {}): Promise<TestClient> {
  return await registered(await TestClient.connect(t, url), deviceRegister(clientId, extra))
}

/** Connects and registers a constellation scoped to `targetId`. */
export async function registeredConstellation (t: Teardown, url: string, clientId: string, targetId: string | null): Promise<TestClient> {
  return await registered(await TestClient.connect(t, url), constellationRegister(clientId, targetId))
}

/** Options of {@link echoDevice}. */
export interface EchoDeviceOptions {
  /**
   * Answer a server TASK (an HTTP dispatch) with the device's own TASK, as the Python device does. Default false:
   * the test answers it.
   */
  answerServerTasks?: boolean
}

/**
 * Answers every COMMAND the device receives with one success Result per action (the capture's stub tools). The
 * frames still reach `next()` as well.
 */
export function echoDevice (client: TestClient, clientId: string, options: EchoDeviceOptions = {}): void {
  client.ws.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as Record<string, any>
    if (frame.type === 'task' && options.answerServerTasks === true) {
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

/** Takes frames until one matches (at most `limit`); the others are returned too, in order. */
export async function until (client: TestClient, match: (frame: Record<string, any>) => boolean, limit = 50): Promise<{ frame: Record<string, any>, skipped: Array<Record<string, any>> }> {
  const skipped: Array<Record<string, any>> = []
  for (let i = 0; i < limit; i++) {
    const frame = await client.next()
    if (match(frame)) return { frame, skipped }
    skipped.push(frame)
  }
  throw new Error(`no matching frame among ${limit}`)
}
