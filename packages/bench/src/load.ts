import { computeBackoffMs, ReconnectionPolicy } from '@aip/resilience'
import WebSocket from 'ws'
import { clientFrame } from './frames.js'

// The load generator speaks real AIP over real sockets: devices answer COMMANDs, constellations send TASKs and
// wait for their TASK_END. Nothing is validated here: the load generator must stay cheap.

/** Backoff of reconnecting load devices: full jitter, capped, never giving up. */
const BACKOFF = { initialBackoffMs: 250, maxBackoffMs: 4000, backoffMultiplier: 2, policy: ReconnectionPolicy.EXPONENTIAL_BACKOFF, jitter: true, maxRetries: Infinity }

function open (url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false })
    ws.once('open', () => resolve(ws))
    ws.once('error', reject)
  })
}

function firstFrame (ws: WebSocket): Promise<any> {
  return new Promise((resolve, reject) => {
    ws.once('message', (data) => resolve(JSON.parse(data.toString())))
    ws.once('close', () => reject(new Error('closed before the registration answer')))
  })
}

/** A device that registers, answers every COMMAND with one success Result per action, and can reconnect. */
export class LoadDevice {
  readonly id: string
  readonly url: string
  ws: WebSocket | null = null
  registered = false
  gaveUp = false
  #reconnect = false
  #attempt = 0
  #timer: NodeJS.Timeout | undefined
  #onRegistered: (() => void) | undefined

  constructor (url: string, id: string) {
    this.url = url
    this.id = id
  }

  /** Connects and registers; rejects when the server refuses. */
  async connect (): Promise<void> {
    const ws = await open(this.url)
    this.ws = ws
    const answer = firstFrame(ws)
    ws.send(clientFrame({ type: 'register', status: 'ok', client_type: 'device', client_id: this.id, metadata: { platform: 'linux' } }))
    const first = await answer
    if (first.type !== 'heartbeat' || first.status !== 'ok') throw new Error(`registration refused: ${String(first.error)}`)
    this.registered = true
    this.#attempt = 0
    ws.on('message', (data) => this.#onMessage(data.toString()))
    ws.on('close', () => this.#onClose(ws))
    ws.on('error', () => {})
    this.#onRegistered?.()
  }

  /** From now on, reconnect with jittered backoff whenever the connection drops. */
  keepConnected (onRegistered: () => void): void {
    this.#reconnect = true
    this.#onRegistered = onRegistered
  }

  #onMessage (text: string): void {
    if (!text.includes('"type":"command"')) return
    const command = JSON.parse(text)
    this.ws?.send(clientFrame({
      type: 'command_results',
      status: 'continue',
      client_type: 'device',
      client_id: this.id,
      session_id: command.session_id,
      prev_response_id: command.response_id,
      action_results: command.actions.map((a: { call_id: string }) => ({ status: 'success', error: null, result: 'ok', namespace: 'bench', call_id: a.call_id }))
    }))
  }

  #onClose (ws: WebSocket): void {
    if (this.ws !== ws) return
    this.registered = false
    this.ws = null
    if (this.#reconnect) this.#schedule()
  }

  #schedule (): void {
    this.#attempt++
    const delay = computeBackoffMs(this.#attempt, BACKOFF)
    this.#timer = setTimeout(() => {
      this.connect().catch(() => {
        if (this.ws !== null) { this.ws.terminate(); this.ws = null }
        this.#schedule()
      })
    }, delay)
  }

  close (): void {
    this.#reconnect = false
    clearTimeout(this.#timer)
    this.ws?.terminate()
    this.ws = null
  }
}

/** One constellation connection, scoped to one device, sending tasks and timing them to their TASK_END. */
export class LoadConstellation {
  readonly clientId: string
  readonly deviceId: string
  readonly url: string
  ws: WebSocket | null = null
  #next = 0
  readonly #pending = new Map<string, { started: number, resolve: (ms: number) => void, reject: (err: Error) => void }>()

  constructor (url: string, clientId: string, deviceId: string) {
    this.url = url
    this.clientId = clientId
    this.deviceId = deviceId
  }

  async connect (): Promise<void> {
    const ws = await open(this.url)
    this.ws = ws
    const answer = firstFrame(ws)
    ws.send(clientFrame({ type: 'register', status: 'ok', client_type: 'constellation', client_id: this.clientId, target_id: this.deviceId }))
    const first = await answer
    if (first.type !== 'heartbeat' || first.status !== 'ok') throw new Error(`registration refused: ${String(first.error)}`)
    ws.on('message', (data) => {
      const text = data.toString()
      if (!text.includes('"type":"task_end"') && !text.includes('"type":"error"')) return
      const message = JSON.parse(text)
      const pending = this.#pending.get(message.session_id)
      if (pending === undefined) return
      this.#pending.delete(message.session_id)
      if (message.type === 'task_end' && message.status === 'completed') pending.resolve(performance.now() - pending.started)
      else pending.reject(new Error(String(message.error)))
    })
    ws.on('close', () => {
      for (const [id, pending] of this.#pending) { this.#pending.delete(id); pending.reject(new Error('closed')) }
    })
  }

  /** Sends one TASK; resolves with its latency in ms at TASK_END. */
  task (): Promise<number> {
    const sessionId = `${this.clientId}#${++this.#next}`
    return new Promise((resolve, reject) => {
      this.#pending.set(sessionId, { started: performance.now(), resolve, reject })
      this.ws?.send(clientFrame({ type: 'task', status: 'continue', client_type: 'constellation', client_id: this.clientId, target_id: this.deviceId, session_id: sessionId, request: 'bench' }))
    })
  }

  close (): void {
    this.ws?.terminate()
    this.ws = null
  }
}

/**
 * Runs `work` `count` times, one at a time: the i-th run starts when the one before has ended, and no sooner than
 * `i * intervalMs` after the first (the schedule slips when a run takes longer than the interval). A rejected run
 * rejects the whole.
 */
export async function paced (count: number, intervalMs: number, work: () => Promise<void>): Promise<void> {
  const start = performance.now()
  for (let i = 0; i < count; i++) {
    // A timer can fire a fraction of a millisecond early by this clock: wait again until the turn has come.
    const due = start + i * intervalMs
    for (let wait = due - performance.now(); wait > 0; wait = due - performance.now()) {
      await new Promise((resolve) => setTimeout(resolve, Math.max(1, wait)))
    }
    await work()
  }
}

/** Runs `work` over `items` with at most `limit` at once. */
export async function pool<T> (items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let index = 0
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (index < items.length) {
      const item = items[index++] as T
      await work(item)
    }
  })
  await Promise.all(runners)
}
