import type { ChildProcess } from 'node:child_process'
import { cpus } from 'node:os'
import { fileURLToPath } from 'node:url'
import type { ScaleWorkerConfig, ScaleWorkerCounts, ScaleWorkerReply, ScaleWorkerRequest } from './scale-worker.js'
import type { Figures } from './scenarios.js'
import { forkNode, hardFileLimit, type ServerProcess } from './server-control.js'

// Scale on one node: many registered devices heartbeating at the default interval, held by several load
// generator processes on raw sockets spread over several 127.x.y.z source addresses (each address has its own
// ~28,000 ephemeral ports towards one server port). Every process runs with its open-file limit raised.

/** Descriptors a server process needs besides its devices' sockets. */
const SERVER_FD_MARGIN = 1000
/** Descriptors a worker process needs besides its devices' sockets. */
const WORKER_FD_MARGIN = 500
/** Devices per source address: well under the ephemeral port range of one address. */
const DEVICES_PER_ADDRESS = 12_500
/**
 * The listen backlog of the scenario's servers (Node's default is 511; the kernel caps it at `net.core.somaxconn`).
 * With 511, the restart's storm overflowed the accept queue: SYNs dropped, retried by the kernel after 1 s, 3 s, 7 s,
 * handshakes timed out, devices backed off; what was timed was the retransmission timers, not the server.
 */
export const SCALE_LISTEN_BACKLOG = 4096
/**
 * Connection attempts in flight at once over all workers while the devices first connect, below the backlog. 2,048
 * was tried on a machine at a load of 20 to 30: the workers' event loops stalled for up to 40 s, so it stays at 512.
 */
const FIRST_CONNECT_CONCURRENCY = 512

/** How the scale scenario is sized. */
export interface ScaleOptions {
  /** Devices wanted; capped by the open-file hard limit (see {@link scalePlan}). */
  devices: number
  /** Heartbeat interval of every device (the reference device's is 20000 ms). */
  heartbeatMs: number
  /** Load generator processes (at least enough for the devices under the open-file limit). */
  workers: number
  /** Time allowed to register all (first connect, and again after the restart). */
  timeoutMs: number
}

/** The devices that actually run, and why. */
export interface ScalePlan {
  devices: number
  workers: number
  addresses: string[]
  fileLimit: number
  capped: boolean
}

/**
 * The source addresses of the `run`-th run of a process (0, 1, ...): the plan's, moved to another `127.x` block per
 * run. The devices of a run close their connections first, so their ports stay in TIME_WAIT for a minute after it;
 * a next run that binds its sockets on the same addresses waits in `bind()` (synchronous, so the generator's event
 * loop stalls) for a free port among them, and registers several times slower. Every run gets fresh ones.
 */
export function addressesForRun (addresses: readonly string[], run: number): string[] {
  return addresses.map((address) => address.replace(/^127\.\d+\./, `127.${run % 250}.`))
}

/** The plan for `o` on this machine: a server holds one descriptor per device, so `ulimit -Hn` caps the count. */
export function scalePlan (o: ScaleOptions, fileLimit = hardFileLimit()): ScalePlan {
  const devices = Math.max(1, Math.min(o.devices, fileLimit - SERVER_FD_MARGIN))
  const workers = Math.max(o.workers, Math.ceil(devices / (fileLimit - WORKER_FD_MARGIN)))
  const addressCount = Math.max(2, Math.ceil(devices / DEVICES_PER_ADDRESS))
  // 127.0.1.1, 127.0.1.2, ...: all loopback (127.0.0.0/8), none of them 127.0.0.1 where the server listens.
  const addresses = Array.from({ length: addressCount }, (_, i) => `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`)
  return { devices, workers, addresses, fileLimit, capped: devices < o.devices }
}

class Worker {
  readonly #child: ChildProcess
  #next = 0
  readonly #waiting = new Map<number, { resolve: (counts: ScaleWorkerCounts) => void, reject: (err: Error) => void }>()
  #gone = false
  readonly ready: Promise<void>
  readonly exited: Promise<void>

  constructor (nofile: number) {
    const entry = fileURLToPath(new URL('./scale-worker.js', import.meta.url))
    this.#child = forkNode(entry, [], [], { nofile })
    this.exited = new Promise((resolve) => this.#child.once('exit', () => resolve()))
    // A worker that dies fails every request still waiting for it, rather than leaving the scenario hanging.
    this.#child.once('exit', (code) => {
      this.#gone = true
      for (const [id, waiter] of this.#waiting) { this.#waiting.delete(id); waiter.reject(new Error(`scale worker exited with ${String(code)}`)) }
    })
    this.ready = new Promise((resolve, reject) => {
      this.#child.once('message', () => resolve())
      this.#child.once('exit', (code) => reject(new Error(`scale worker exited with ${String(code)}`)))
    })
    this.#child.on('message', (message: ScaleWorkerReply) => {
      const waiter = this.#waiting.get(message.id)
      if (waiter === undefined) return
      this.#waiting.delete(message.id)
      waiter.resolve(message.counts)
    })
  }

  request (cmd: 'counts' | 'stop'): Promise<ScaleWorkerCounts>
  request (cmd: 'start', config: ScaleWorkerConfig): Promise<ScaleWorkerCounts>
  request (cmd: ScaleWorkerRequest['cmd'], config?: ScaleWorkerConfig): Promise<ScaleWorkerCounts> {
    const id = ++this.#next
    if (this.#gone) return Promise.reject(new Error('scale worker is gone'))
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject })
      this.#child.send(cmd === 'start' ? { id, cmd, config } : { id, cmd })
    })
  }
}

interface Totals { registered: number, registrations: number, heartbeatsAnswered: number, failedAttempts: number, cpuMicros: number[], loopDelayP99Ms: number }

async function totals (workers: readonly Worker[]): Promise<Totals> {
  const all = await Promise.all(workers.map((w) => w.request('counts')))
  return {
    registered: all.reduce((n, c) => n + c.registered, 0),
    registrations: all.reduce((n, c) => n + c.registrations, 0),
    heartbeatsAnswered: all.reduce((n, c) => n + c.heartbeatsAnswered, 0),
    failedAttempts: all.reduce((n, c) => n + c.failedAttempts, 0),
    cpuMicros: all.map((c) => c.cpuMicros),
    loopDelayP99Ms: Math.max(...all.map((c) => c.loopDelayP99Ms))
  }
}

/** The busiest generator process's share of one core between two snapshots. */
function busiest (before: Totals, after: Totals, ms: number): number {
  return Math.max(...after.cpuMicros.map((cpu, i) => (cpu - (before.cpuMicros[i] ?? 0)) / (ms * 1000)))
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls until `server` has registered `count` clients or `timeoutMs` passed; returns the seconds it took. */
async function untilRegistered (server: ServerProcess, count: number, since: number, timeoutMs: number): Promise<{ seconds: number, registered: number }> {
  let registered = 0
  while (performance.now() - since < timeoutMs) {
    registered = (await server.stats()).registered
    if (registered >= count) break
    await sleep(100)
  }
  return { seconds: (performance.now() - since) / 1000, registered }
}

/**
 * Scale on one node against one server: register every device (timed), hold them heartbeating for one interval
 * (server CPU per second and per heartbeat), measure memory per device after a forced GC, then SIGKILL the server,
 * restart it on the same port and time until every device is registered again. The figures include the
 * generator's busiest process CPU and event-loop delay, to show it kept up.
 */
// The first run's block differs between invocations too: a bench started within a minute of another (which left its
// ports in TIME_WAIT) must not bind on the same addresses.
let runs = process.pid % 250

export async function scale (start: (port: number) => Promise<ServerProcess>, plan: ScalePlan, o: ScaleOptions): Promise<Figures> {
  const localAddresses = addressesForRun(plan.addresses, runs++)
  let server = await start(0)
  const workers = Array.from({ length: plan.workers }, () => new Worker(Math.ceil(plan.devices / plan.workers) + WORKER_FD_MARGIN))
  try {
    await Promise.all(workers.map((w) => w.ready))
    const idle = await server.gc()
    const per = Math.ceil(plan.devices / plan.workers)
    const startedAt = performance.now()
    const before = await totals(workers)
    await Promise.all(workers.map((w, i) => w.request('start', {
      host: '127.0.0.1',
      port: server.port,
      path: '/ws',
      prefix: 'scale',
      first: i * per,
      count: Math.max(0, Math.min(per, plan.devices - i * per)),
      localAddresses,
      heartbeatMs: o.heartbeatMs,
      concurrency: Math.max(16, Math.ceil(FIRST_CONNECT_CONCURRENCY / plan.workers))
    })))
    const first = await untilRegistered(server, plan.devices, startedAt, o.timeoutMs)
    const serverRegistered = await server.stats()
    const registeredAt = await totals(workers)
    const generatorCpuRegister = busiest(before, registeredAt, first.seconds * 1000)

    // Heartbeats: every device beats once per interval at a random phase, so the rate is steady at once.
    await sleep(Math.min(1000, o.heartbeatMs))
    const hbBefore = await totals(workers)
    const serverBefore = await server.stats()
    const windowStart = performance.now()
    await sleep(o.heartbeatMs)
    const serverAfter = await server.stats()
    const windowMs = performance.now() - windowStart
    const hbAfter = await totals(workers)
    const heartbeats = hbAfter.heartbeatsAnswered - hbBefore.heartbeatsAnswered
    const heartbeatCpu = serverAfter.cpuMicros - serverBefore.cpuMicros

    const resting = await server.gc()

    // Crash and restart on the same port; the devices reconnect with full-jitter backoff and never give up.
    const restartBefore = await totals(workers)
    await server.kill()
    const killedAt = performance.now()
    server = await start(server.port)
    const again = await untilRegistered(server, plan.devices, killedAt, o.timeoutMs)
    const restartAfter = await totals(workers)
    const peak = Math.max(0, ...(await server.stats()).timeline)

    return {
      devices: plan.devices,
      heartbeatIntervalMs: o.heartbeatMs,
      secondsToRegisterAll: first.seconds,
      registrationsPerSec: first.registered / first.seconds,
      rssMB: resting.rss / 2 ** 20,
      rssBytesPerDevice: (resting.rss - idle.rss) / plan.devices,
      heapBytesPerDevice: (resting.heapUsed - idle.heapUsed) / plan.devices,
      heartbeatsPerSec: heartbeats / (windowMs / 1000),
      heartbeatCpuCoreShare: heartbeatCpu / (windowMs * 1000),
      cpuMicrosPerHeartbeat: heartbeatCpu / Math.max(1, heartbeats),
      secondsToAllBackAfterRestart: again.seconds,
      peakReRegistrationsPerSec: peak * 10,
      notBack: plan.devices - again.registered,
      retriedAttemptsAfterRestart: restartAfter.failedAttempts - restartBefore.failedAttempts,
      // The server's own cost of a first registration, and how busy it was meanwhile (near 1: the server was the limit).
      serverCpuMicrosPerRegistration: (serverRegistered.cpuMicros - idle.cpuMicros) / Math.max(1, first.registered),
      serverCoreShareRegistering: (serverRegistered.cpuMicros - idle.cpuMicros) / (first.seconds * 1e6),
      generatorBusiestCoreShareRegistering: generatorCpuRegister,
      generatorBusiestCoreShareHeartbeating: busiest(hbBefore, hbAfter, windowMs),
      generatorLoopDelayP99Ms: Math.max(registeredAt.loopDelayP99Ms, hbAfter.loopDelayP99Ms)
    }
  } finally {
    await Promise.all(workers.map(async (w) => { await w.request('stop').catch(() => {}); await w.exited }))
    await server.stop()
  }
}

/** Load generator processes by default: one per core, at least two. */
export function defaultScaleWorkers (): number {
  return Math.max(2, cpus().length)
}
