import { monitorEventLoopDelay } from 'node:perf_hooks'
import { computeBackoffMs, ReconnectionPolicy } from '@aip/resilience'
import { clientFrame } from './frames.js'
import { encodeClientText, RawWebSocket } from './raw-ws.js'

// One process of the scale scenario's load generator: `node scale-worker.js`, driven over IPC by scale.ts. It
// holds its share of the devices on raw sockets (see raw-ws.ts), each device registering, heartbeating at the
// configured interval and reconnecting with full-jitter backoff for ever (a scale device never gives up). Its
// own CPU time and event-loop delay are reported so that the scenario can show it was not the bottleneck.

/** The configuration a worker is started with. */
export interface ScaleWorkerConfig {
  host: string
  port: number
  path: string
  /** Device ids are `${prefix}${i}` for i in [first, first + count). */
  prefix: string
  first: number
  count: number
  /** Source addresses to spread the connections over (round robin). */
  localAddresses: string[]
  heartbeatMs: number
  /** Connection attempts in flight at once while the devices first connect. */
  concurrency: number
}

export type ScaleWorkerRequest =
  | { id: number, cmd: 'start', config: ScaleWorkerConfig }
  | { id: number, cmd: 'counts' }
  | { id: number, cmd: 'stop' }

/** A worker's counters, cumulative since it started. */
export interface ScaleWorkerCounts {
  registered: number
  /** Registration answers received, first connections and reconnections alike. */
  registrations: number
  heartbeatsSent: number
  heartbeatsAnswered: number
  /** Connection attempts that failed (refused, dropped, refused registration) and were retried. */
  failedAttempts: number
  cpuMicros: number
  loopDelayP99Ms: number
}

export interface ScaleWorkerReply { id: number, counts: ScaleWorkerCounts }

const BACKOFF = { initialBackoffMs: 250, maxBackoffMs: 4000, backoffMultiplier: 2, policy: ReconnectionPolicy.EXPONENTIAL_BACKOFF, jitter: true, maxRetries: Infinity }
const TICK_MS = 100

interface Device {
  index: number
  id: string
  socket: RawWebSocket | null
  registered: boolean
  attempt: number
  heartbeat: Buffer
  timer: NodeJS.Timeout | undefined
}

const counts = { registered: 0, registrations: 0, heartbeatsSent: 0, heartbeatsAnswered: 0, failedAttempts: 0 }
const delay = monitorEventLoopDelay({ resolution: 10 })
delay.enable()
let config: ScaleWorkerConfig
let devices: Device[] = []
let running = false
let slots: Device[][] = []
let ticker: NodeJS.Timeout | undefined

/** Opens a connection for `device`; `settled` is called once, when it registered or when this attempt failed. */
function attach (device: Device, settled?: () => void): void {
  const address = config.localAddresses[device.index % config.localAddresses.length]
  let answered = false
  const socket = new RawWebSocket({ host: config.host, port: config.port, path: config.path, localAddress: address, handshakeTimeoutMs: 10_000 }, {
    open: () => {
      socket.sendFrame(encodeClientText(clientFrame({ type: 'register', status: 'ok', client_type: 'device', client_id: device.id, metadata: { platform: 'linux' } })))
    },
    text: (text) => {
      if (!answered) {
        answered = true
        if (text.includes('"type":"heartbeat"') && text.includes('"status":"ok"')) {
          device.registered = true
          device.attempt = 0
          counts.registered++
          counts.registrations++
          settled?.()
        } else {
          socket.destroy()
        }
        return
      }
      if (text.includes('"type":"heartbeat"')) counts.heartbeatsAnswered++
    },
    close: () => {
      settled?.()
      if (device.socket !== socket) return
      device.socket = null
      if (device.registered) { device.registered = false; counts.registered-- } else counts.failedAttempts++
      if (running) schedule(device)
    }
  })
  device.socket = socket
}

function schedule (device: Device): void {
  device.attempt++
  device.timer = setTimeout(() => { device.timer = undefined; if (running) attach(device) }, computeBackoffMs(device.attempt, BACKOFF))
}

/** Every tick sends the heartbeats of one slot: each device beats once per interval, at a random phase. */
function tick (): void {
  const slot = slots[Math.floor(performance.now() / TICK_MS) % slots.length] ?? []
  for (const device of slot) {
    if (!device.registered || device.socket === null) continue
    device.socket.sendFrame(device.heartbeat)
    counts.heartbeatsSent++
  }
}

async function start (c: ScaleWorkerConfig): Promise<void> {
  config = c
  running = true
  devices = Array.from({ length: c.count }, (_, k) => {
    const id = `${c.prefix}${c.first + k}`
    // The heartbeat frame is encoded once per device: the timestamp it carries is informational.
    return { index: c.first + k, id, socket: null, registered: false, attempt: 0, heartbeat: encodeClientText(clientFrame({ type: 'heartbeat', status: 'ok', client_type: 'device', client_id: id })), timer: undefined }
  })
  slots = Array.from({ length: Math.max(1, Math.round(c.heartbeatMs / TICK_MS)) }, () => [])
  for (const device of devices) slots[Math.floor(Math.random() * slots.length)]?.push(device)
  ticker = setInterval(tick, TICK_MS)
  // First connections with a bounded number in flight; later reconnections go through the backoff.
  let next = 0
  await new Promise<void>((resolve) => {
    let inFlight = 0
    const launch = (): void => {
      if (!running) next = devices.length
      while (inFlight < c.concurrency && next < devices.length) {
        const device = devices[next++] as Device
        inFlight++
        let settled = false
        attach(device, () => { if (!settled) { settled = true; inFlight--; launch() } })
      }
      if (inFlight === 0 && next >= devices.length) resolve()
    }
    launch()
  })
}

function snapshot (): ScaleWorkerCounts {
  const cpu = process.cpuUsage()
  return { ...counts, cpuMicros: cpu.user + cpu.system, loopDelayP99Ms: delay.percentile(99) / 1e6 }
}

process.on('message', (request: ScaleWorkerRequest) => {
  if (request.cmd === 'start') {
    start(request.config).catch((err: unknown) => { process.stderr.write(`${String(err)}\n`); process.exit(1) })
    process.send?.({ id: request.id, counts: snapshot() } satisfies ScaleWorkerReply)
  } else if (request.cmd === 'counts') {
    process.send?.({ id: request.id, counts: snapshot() } satisfies ScaleWorkerReply)
    delay.reset()
  } else {
    running = false
    clearInterval(ticker)
    for (const device of devices) { clearTimeout(device.timer); device.socket?.destroy() }
    process.send?.({ id: request.id, counts: snapshot() } satisfies ScaleWorkerReply, () => process.exit(0))
  }
})
process.send?.({ ready: true })
