import { DeviceClientEndpoint } from '@aip/device-client'
import { ReconnectionStrategy } from '@aip/resilience'
import { mib, sleep, slope, table, verdict } from '../report.js'
import { Rng } from '../seed.js'
import { ServerProcess, type ServerStats } from '../server-process.js'

export interface SoakOptions {
  seed: number
  devices: number
  durationMs: number
  /** Mean time between two tasks of one device. */
  taskEveryMs?: number
  heartbeatIntervalMs?: number
  sampleEveryMs?: number
  /** The server's `maxResults` (the result store's bound). */
  maxResults?: number
  /** Allowed heap growth over the measured window, as a share of the heap at its start. */
  heapTolerance?: number
  log?: (line: string) => void
}

export interface SoakSample { t: number, heapUsed: number, rss: number, clients: number, sessions: number, connections: number, results: number }

export interface SoakReport {
  seed: number
  ok: boolean
  samples: SoakSample[]
  heapSlopePerMin: number
  rssSlopePerMin: number
  tasks: Record<string, number>
  violations: string[]
  text: string
}

/**
 * Devices heartbeating and running tasks against a server in a child process for a fixed time. Invariants: no
 * registry beyond its bound (clients and connections <= devices, sessions <= devices, kept results <= maxResults),
 * no heap growth in the steady state (the least-squares slope of the heap after GC, over the last three quarters
 * of the run, projects less than `heapTolerance` growth over that window), no server error.
 */
export async function run (options: SoakOptions): Promise<SoakReport> {
  const rng = new Rng(options.seed)
  const log = options.log ?? (() => {})
  const taskEveryMs = options.taskEveryMs ?? 5000
  const sampleEveryMs = options.sampleEveryMs ?? Math.max(500, Math.floor(options.durationMs / 40))
  const maxResults = options.maxResults ?? 500
  const tolerance = options.heapTolerance ?? 0.1
  const violations: string[] = []
  const tasks: Record<string, number> = { started: 0, completed: 0, failed: 0, rejected: 0 }

  // Every device connects from 127.0.0.1: the per-address cap would refuse a full-size run.
  const server = await ServerProcess.start({ agent: 'test', maxResults, pingIntervalMs: 10_000, registrationTimeoutMs: 30_000, maxConnectionsPerAddress: 0, maxConnections: null })
  const devices: DeviceClientEndpoint[] = []
  for (let i = 0; i < options.devices; i += 100) {
    const batch = Array.from({ length: Math.min(100, options.devices - i) }, (_, j) => new DeviceClientEndpoint({
      wsUrl: server.wsUrl,
      clientId: `soak${i + j}`,
      platform: 'linux',
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 2000,
      reconnectionStrategy: new ReconnectionStrategy({ maxRetries: Infinity, initialBackoffMs: 100, maxBackoffMs: 2000, random: rng.next }),
      tools: { echo: { handler: (params) => params } }
    }))
    await Promise.all(batch.map((d) => d.start()))
    devices.push(...batch)
  }
  log(`soak: ${devices.length} devices registered`)

  const state = { running: true }
  const loops = devices.map(async (device) => {
    await sleep(rng.int(taskEveryMs))
    while (state.running) {
      tasks.started = (tasks.started ?? 0) + 1
      try {
        const end = await device.startTask(`steps=${rng.between(1, 2)}`, { timeoutMs: 30_000 })
        if (end.status === 'completed') tasks.completed = (tasks.completed ?? 0) + 1
        else tasks.failed = (tasks.failed ?? 0) + 1
      } catch {
        tasks.rejected = (tasks.rejected ?? 0) + 1
      }
      await sleep(Math.floor(taskEveryMs * (0.5 + rng.next())))
    }
  })

  const samples: SoakSample[] = []
  const start = Date.now()
  const check = (stats: ServerStats): void => {
    if (stats.clients > options.devices) violations.push(`registry holds ${stats.clients} clients for ${options.devices} devices`)
    if (stats.connections > options.devices) violations.push(`${stats.connections} connections for ${options.devices} devices`)
    if (stats.sessions > options.devices) violations.push(`${stats.sessions} sessions for ${options.devices} devices`)
    if (stats.results > maxResults) violations.push(`result store holds ${stats.results} > maxResults ${maxResults}`)
  }
  while (Date.now() - start < options.durationMs) {
    await sleep(sampleEveryMs)
    const stats = await server.gc().catch(() => null)
    if (stats === null) { violations.push(server.crashed ?? 'the server process did not answer'); break }
    check(stats)
    samples.push({ t: (Date.now() - start) / 60_000, heapUsed: stats.heapUsed, rss: stats.rss, clients: stats.clients, sessions: stats.sessions, connections: stats.connections, results: stats.results })
    if (samples.length % 5 === 0) log(`soak: ${((Date.now() - start) / 1000).toFixed(0)} s, heap ${mib(stats.heapUsed)}, RSS ${mib(stats.rss)}, ${stats.clients} clients, ${stats.sessions} sessions, ${stats.results} results, ${tasks.completed} tasks completed`)
  }
  state.running = false
  await Promise.all(loops)
  const final = await server.stats().catch(() => null)
  if (final !== null && (final.uncaught > 0 || final.unhandled > 0)) violations.push(`server: ${final.uncaught} uncaught, ${final.unhandled} unhandled: ${final.errors.join(' | ').slice(0, 1000)}`)
  await Promise.all(devices.map((d) => d.stop()))
  await server.stop()

  const steady = samples.slice(Math.floor(samples.length / 4))
  const heapSlopePerMin = slope(steady.map((s) => [s.t, s.heapUsed] as const))
  const rssSlopePerMin = slope(steady.map((s) => [s.t, s.rss] as const))
  const windowMin = steady.length > 1 ? (steady.at(-1) as SoakSample).t - (steady[0] as SoakSample).t : 0
  const baseHeap = steady[0]?.heapUsed ?? 0
  const projected = heapSlopePerMin * windowMin
  if (steady.length < 4) violations.push(`too few samples (${steady.length}) to measure a slope`)
  else if (projected > tolerance * baseHeap) violations.push(`heap grows ${mib(heapSlopePerMin)}/min: ${mib(projected)} over the ${windowMin.toFixed(1)} min window, more than ${tolerance * 100} % of ${mib(baseHeap)}`)
  if ((tasks.completed ?? 0) === 0) violations.push('no task completed')

  const last = samples.at(-1)
  const text = [
    `soak seed=${options.seed} devices=${options.devices} duration=${(options.durationMs / 1000).toFixed(0)}s samples=${samples.length} maxResults=${maxResults}`,
    table('tasks', tasks),
    table('server (last sample, after GC)', last === undefined ? {} : { heap: mib(last.heapUsed), rss: mib(last.rss), clients: last.clients, connections: last.connections, sessions: last.sessions, results: last.results }),
    `heap slope ${(heapSlopePerMin / 1024).toFixed(1)} KiB/min (projected ${mib(projected)} over ${windowMin.toFixed(2)} min from ${mib(baseHeap)}); RSS slope ${(rssSlopePerMin / 1024).toFixed(1)} KiB/min`,
    verdict(violations.slice(0, 20)),
    `replay: pnpm soak --seed ${options.seed}`
  ].join('\n')
  return { seed: options.seed, ok: violations.length === 0, samples, heapSlopePerMin, rssSlopePerMin, tasks, violations, text }
}
