import { clientFrame } from './frames.js'
import { LoadConstellation, LoadDevice, paced, pool } from './load.js'
import type { ServerProcess } from './server-control.js'

/** One measured figure of one scenario run against one server. */
export type Figures = Record<string, number>

async function connectDevices (server: ServerProcess | string, count: number, prefix = 'dev', concurrency = 200): Promise<LoadDevice[]> {
  const url = typeof server === 'string' ? server : server.url
  const devices = Array.from({ length: count }, (_, i) => new LoadDevice(url, `${prefix}${i}`))
  await pool(devices, concurrency, (device) => device.connect())
  return devices
}

async function connectConstellations (server: ServerProcess | string, devices: readonly LoadDevice[], constellations: number): Promise<LoadConstellation[]> {
  const url = typeof server === 'string' ? server : server.url
  const all: LoadConstellation[] = []
  for (let c = 0; c < constellations; c++) {
    for (const device of devices) all.push(new LoadConstellation(url, `bench${c}@${device.id}`, device.id))
  }
  await pool(all, 200, (constellation) => constellation.connect())
  return all
}

function closeAll (items: ReadonlyArray<{ close: () => void }>): void {
  for (const item of items) item.close()
}

/**
 * Where a throughput run connects and what it charges to its tasks: devices connect to `deviceUrl`, constellations
 * to `constellationUrl` (another node of a cluster, or the same server), and `sample` reads the CPU (µs) of every
 * process that serves them and, with Redis, the commands Redis has run.
 */
export interface Deployment {
  deviceUrl: string
  constellationUrl: string
  sample: () => Promise<Sample>
  /** A full collection in every process of the deployment that has a collector, nothing sampled (see {@link LatencyOptions.collectFirst}). */
  collect?: () => Promise<void>
  /** Runs every server process's side of a sample, nothing counted (see {@link LatencyOptions.warmupTasks}). */
  rehearse?: () => Promise<void>
}

/** What a deployment has spent so far: CPU (µs), and when counted, instructions and Redis commands. */
export interface Sample {
  cpuMicros: number
  /** Of `cpuMicros`, the kernel's (system time), where the process reports it. */
  systemCpuMicros?: number
  /** Instructions the server processes executed (`--instructions`). */
  instructions?: number
  /** Of `instructions`, redis-server's (`--instructions` with Redis). */
  redisInstructions?: number
  redisCommands?: number
  /** CPU (µs) of the server's threads other than the main one (one server process, Linux). */
  helperCpuMicros?: number
  /** Minor page faults and context switches of the server (one server process). */
  minorFaults?: number
  voluntarySwitches?: number
  involuntarySwitches?: number
  /** Scavenges and full collections of the server (one server process). */
  scavenges?: number
  markCompacts?: number
  /** Of `instructions`, each node's (a cluster on Redis: the devices' node first, then the constellations'). */
  nodeInstructions?: number[]
  /** Of `instructions`, V8's collectors' and compilers' in the server processes (window profiles kept). */
  collectorInstructions?: number
  compilerInstructions?: number
}

/** `figures[name]` = instructions spent between two samples per `count`, when both samples counted them. */
function perInstruction (figures: Figures, name: string, before: Sample, after: Sample, count: number): void {
  if (before.instructions === undefined || after.instructions === undefined) return
  figures[name] = (after.instructions - before.instructions) / Math.max(count, 1)
}

/** A single server as a {@link Deployment}. */
export function single (server: ServerProcess): Deployment {
  return { deviceUrl: server.url, constellationUrl: server.url, sample: () => server.stats(), collect: () => server.collect(), rehearse: () => server.rehearse() }
}

/** Tasks per second and server CPU per task, with `window` tasks always outstanding. */
export async function throughput (server: ServerProcess | Deployment, o: { devices: number, constellations: number, window: number, warmupMs: number, durationMs: number }): Promise<Figures> {
  const deployment = 'deviceUrl' in server ? server : single(server)
  const devices = await connectDevices(deployment.deviceUrl, o.devices)
  const conns = await connectConstellations(deployment.constellationUrl, devices, o.constellations)
  let completed = 0
  let failed = 0
  const state = { running: true }
  let pick = 0
  const loop = async (): Promise<void> => {
    while (state.running) {
      const conn = conns[pick++ % conns.length] as LoadConstellation
      try { await conn.task(); completed++ } catch { failed++ }
    }
  }
  const loops = Array.from({ length: o.window }, loop)
  await new Promise((resolve) => setTimeout(resolve, o.warmupMs))
  const before = await deployment.sample()
  const startCompleted = completed
  const start = performance.now()
  await new Promise((resolve) => setTimeout(resolve, o.durationMs))
  const after = await deployment.sample()
  const seconds = (performance.now() - start) / 1000
  const tasks = completed - startCompleted
  state.running = false
  await Promise.all(loops)
  closeAll(conns)
  closeAll(devices)
  const figures: Figures = { tasksPerSec: tasks / seconds, cpuMicrosPerTask: (after.cpuMicros - before.cpuMicros) / Math.max(tasks, 1), failed }
  perInstruction(figures, 'instructionsPerTask', before, after, tasks)
  redisFigures(figures, 'PerTask', before, after, tasks)
  return figures
}

function percentile (sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number
}

/** The parts of a latency run's warm-up, each followed by a rehearsed sample (see {@link LatencyOptions.warmupTasks}). */
export const WARMUP_PARTS = 8

/** Options of {@link latency}. */
export interface LatencyOptions {
  devices: number
  /** Tasks per second. */
  rate: number
  durationMs: number
  /**
   * Tasks run before the measured window, so that its code is warm. They run in {@link WARMUP_PARTS} parts, each
   * followed by every server process's side of a sample (`Deployment.rehearse`): the window opens with a sample, a
   * message on the process's IPC channel (a pipe) that goes through the stream and tick functions its sockets use.
   * Seen for the first time at the window's first sample, it deoptimised those functions (another map, another call
   * target), and their recompiling fell in the window (see the README, "The window's own samples").
   */
  warmupTasks?: number
  /**
   * Milliseconds of the same open loop (same rate, same spread over the devices) run before the measured window, its
   * tasks not counted: the window then reads the steady state, not V8 compiling the task path for the first time.
   */
  warmupMs?: number
  /**
   * Each task alone, warm-up included: a task starts when the one before has ended, and no sooner than the
   * schedule says (the schedule slips when a task takes longer than `1000 / rate` ms). For instruction counts: a
   * server slowed down by callgrind, or by a busy machine, must not find two tasks in one turn, which a fixed
   * arrival rate does not prevent. Latency percentiles of such a run say nothing.
   */
  alone?: boolean
  /**
   * A full collection forced in every server process (not counted) right before the window's first sample, so
   * that each side's window starts in the same collection state: a 600-task window holds one full collection or
   * none depending on where the process's heap stood, which moved a counted figure by about 250 k per task.
   */
  collectFirst?: boolean
  /**
   * With `collectFirst`: tasks run one at a time between the collection and the window (default 0), so that what
   * the collection undid (optimised code dropped with the objects it held) is compiled again before the window.
   */
  tasksAfterCollect?: number
  /**
   * Awaited right before the window's first sample, after every warm-up: two latency runs side by side meet there
   * (see {@link meeting}), so that their windows cover the same seconds of the machine.
   */
  beforeWindow?: () => Promise<void>
}

/**
 * A meeting point for `parties` runs: each call resolves once every party has called. Two servers measured side by
 * side (one load generator, the same seconds) see the same machine: on a shared machine, windows taken one after
 * the other differ by whatever else ran meanwhile.
 */
export function meeting (parties: number): () => Promise<void> {
  let arrived = 0
  let open = (): void => {}
  const all = new Promise<void>((resolve) => { open = resolve })
  return async () => {
    if (++arrived === parties) open()
    await all
  }
}

/**
 * Starts `start()` at `rate` per second for `durationMs` on a 10 ms tick, whatever the tasks before are doing (an open
 * loop: a slow server gets tasks at the same rate), and resolves when every task started has settled.
 */
async function openLoop (rate: number, durationMs: number, start: () => Promise<void>): Promise<void> {
  const tickMs = 10
  const perTick = rate * tickMs / 1000
  const ticks = Math.round(durationMs / tickMs)
  const tasks: Array<Promise<void>> = []
  const begin = performance.now()
  let owed = 0
  for (let tick = 0; tick < ticks; tick++) {
    owed += perTick
    while (owed >= 1) {
      owed--
      tasks.push(start())
    }
    // Keep to the schedule: wait until the next tick is due.
    const due = begin + (tick + 1) * tickMs
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())))
  }
  await Promise.all(tasks)
}

/** Latency at a fixed arrival rate (open loop): p50 and p99 in ms. With `alone`, tasks one at a time (see there). */
export async function latency (target: ServerProcess | Deployment, o: LatencyOptions): Promise<Figures> {
  const server = 'deviceUrl' in target ? target : single(target)
  const devices = await connectDevices(server.deviceUrl, o.devices)
  const conns = await connectConstellations(server.constellationUrl, devices, 1)
  const latencies: number[] = []
  let failed = 0
  let pick = 0
  const next = (): LoadConstellation => conns[pick++ % conns.length] as LoadConstellation
  // Tasks run before the measured window (16 at a time, or one at a time as in the window), so that the window's
  // code is warm, in parts with each server's side of a sample after each (see LatencyOptions.warmupTasks).
  const warmup = Array.from({ length: o.warmupTasks ?? 0 }, (_, i) => conns[i % conns.length] as LoadConstellation)
  const part = Math.ceil(warmup.length / WARMUP_PARTS)
  for (let start = 0; start < warmup.length; start += part) {
    await pool(warmup.slice(start, start + part), o.alone === true ? 1 : 16, async (conn) => { await conn.task().catch(() => {}) })
    await server.rehearse?.()
  }
  // And the same open loop as the window's, not counted.
  let cold: Figures | undefined
  if (o.alone !== true && (o.warmupMs ?? 0) > 0) {
    const first = await server.sample()
    let started = 0
    await openLoop(o.rate, o.warmupMs ?? 0, () => { started++; return next().task().then(() => {}, () => {}) })
    const last = await server.sample()
    // The warm-up's own CPU per task, on the server just started.
    cold = { cpuMicrosPerTaskCold: (last.cpuMicros - first.cpuMicros) / Math.max(started, 1) }
  }
  const reasons = new Set<string>()
  if (o.collectFirst === true) {
    await server.collect?.()
    await paced(o.tasksAfterCollect ?? 0, 0, async () => { await (conns[pick++ % conns.length] as LoadConstellation).task().catch(() => {}) })
  }
  await o.beforeWindow?.()
  const before = await server.sample()
  const run = async (): Promise<void> => {
    await next().task().then((ms) => { latencies.push(ms) }, (err: Error) => { failed++; reasons.add(err.message) })
  }
  // Alone, the tasks are paced one by one instead of by ticks.
  if (o.alone === true) await paced(Math.round(o.rate * o.durationMs / 1000), 1000 / o.rate, run)
  else await openLoop(o.rate, o.durationMs, run)
  const after = await server.sample()
  if (reasons.size > 0) process.stderr.write(`latency: ${failed} task(s) failed: ${[...reasons].join('; ')}\n`)
  closeAll(conns)
  closeAll(devices)
  latencies.sort((a, b) => a - b)
  // CPU per task at the same arrival rate for both servers: unlike the closed-loop throughput figure, it does not
  // depend on how busy each server keeps the load generator (a busy peer is cheaper to write to on loopback).
  const figures: Figures = {
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    cpuMicrosPerTask: (after.cpuMicros - before.cpuMicros) / Math.max(latencies.length, 1),
    ...(before.systemCpuMicros === undefined || after.systemCpuMicros === undefined ? {} : { systemCpuMicrosPerTask: (after.systemCpuMicros - before.systemCpuMicros) / Math.max(latencies.length, 1) }),
    completed: latencies.length,
    failed,
    ...cold
  }
  perInstruction(figures, 'instructionsPerTask', before, after, latencies.length)
  redisFigures(figures, 'PerTask', before, after, latencies.length)
  collectionFigures(figures, before, after, latencies.length)
  sharesFigures(figures, 'PerTask', before, after, latencies.length)
  nodeFigures(figures, before, after, latencies.length)
  return figures
}

/** Each node's instructions per task (`nodeAInstructionsPerTask`: the devices' node; `nodeB...`: the constellations'). */
function nodeFigures (figures: Figures, before: Sample, after: Sample, count: number): void {
  const start = before.nodeInstructions
  const end = after.nodeInstructions
  if (start === undefined || end === undefined) return
  end.forEach((value, i) => {
    figures[`node${String.fromCharCode(65 + i)}InstructionsPerTask`] = (value - (start[i] ?? Number.NaN)) / Math.max(count, 1)
  })
}

/**
 * V8's collectors' and compilers' instructions per `count` (`collectorInstructions...`, `compilerInstructions...`),
 * and the count without them (`instructions...WithoutCollector`, `...WithoutCollectorOrCompiler`), when every server
 * process's window profile was read: the ratio with and without the collector, whose share depends on where each
 * process's heap stood more than on the tasks, and without the compiler still optimising the path.
 */
function sharesFigures (figures: Figures, per: string, before: Sample, after: Sample, count: number): void {
  if (before.collectorInstructions === undefined || after.collectorInstructions === undefined || before.compilerInstructions === undefined || after.compilerInstructions === undefined) return
  const all = figures[`instructions${per}`]
  const collector = (after.collectorInstructions - before.collectorInstructions) / Math.max(count, 1)
  const compiler = (after.compilerInstructions - before.compilerInstructions) / Math.max(count, 1)
  figures[`collectorInstructions${per}`] = collector
  figures[`compilerInstructions${per}`] = compiler
  if (all === undefined) return
  figures[`instructions${per}WithoutCollector`] = all - collector
  figures[`instructions${per}WithoutCollectorOrCompiler`] = all - collector - compiler
}

/**
 * What the server's collector did per task, when one server process is sampled: the CPU of its threads other than
 * the main one (V8's parallel scavenges and concurrent marking, background compiling; `cpuMicrosPerTask` includes
 * it), and its collections per 1,000 tasks.
 */
function collectionFigures (figures: Figures, before: Sample, after: Sample, count: number): void {
  if (before.helperCpuMicros !== undefined && after.helperCpuMicros !== undefined) {
    figures.helperCpuMicrosPerTask = (after.helperCpuMicros - before.helperCpuMicros) / Math.max(count, 1)
  }
  if (before.minorFaults !== undefined && after.minorFaults !== undefined) {
    figures.minorFaultsPerTask = (after.minorFaults - before.minorFaults) / Math.max(count, 1)
  }
  if (before.voluntarySwitches !== undefined && after.voluntarySwitches !== undefined) {
    figures.voluntarySwitchesPerTask = (after.voluntarySwitches - before.voluntarySwitches) / Math.max(count, 1)
  }
  if (before.involuntarySwitches !== undefined && after.involuntarySwitches !== undefined) {
    figures.involuntarySwitchesPerTask = (after.involuntarySwitches - before.involuntarySwitches) / Math.max(count, 1)
  }
  if (before.scavenges !== undefined && after.scavenges !== undefined) {
    figures.scavengesPer1000Tasks = (after.scavenges - before.scavenges) * 1000 / Math.max(count, 1)
  }
  if (before.markCompacts !== undefined && after.markCompacts !== undefined) {
    figures.markCompactsPer1000Tasks = (after.markCompacts - before.markCompacts) * 1000 / Math.max(count, 1)
  }
}

/** Redis's share of a window per `count` (`redisInstructionsPer...`, `redisCommandsPer...`) when sampled. */
function redisFigures (figures: Figures, per: string, before: Sample, after: Sample, count: number): void {
  if (before.redisInstructions !== undefined && after.redisInstructions !== undefined) {
    figures[`redisInstructions${per}`] = (after.redisInstructions - before.redisInstructions) / Math.max(count, 1)
  }
  // One INFO of the sample before is counted between the two samples: it is not the tasks'.
  if (before.redisCommands !== undefined && after.redisCommands !== undefined) {
    figures[`redisCommands${per}`] = (after.redisCommands - before.redisCommands - 1) / Math.max(count, 1)
  }
}

/**
 * Devices connecting and registering (`concurrency` at a time, default 200): rate and server CPU per connect; then
 * idle heap and RSS per device. With `redis`, its CPU is added to the server's and the commands it ran per connect
 * are reported.
 */
export async function connect (server: ServerProcess, o: { devices: number, concurrency?: number, warmupDevices?: number, redis?: { sample: () => Promise<{ cpuMicros: number, commands: number, instructions?: number }> } }): Promise<Figures> {
  const cold = o.warmupDevices !== undefined && o.warmupDevices > 0 ? await warmUpConnects(server, o.warmupDevices, o.concurrency) : undefined
  const idle = await server.gc()
  const redisBefore = await o.redis?.sample()
  const start = performance.now()
  const devices = await connectDevices(server, o.devices, 'dev', o.concurrency)
  const seconds = (performance.now() - start) / 1000
  const busy = await server.stats()
  const redisAfter = await o.redis?.sample()
  // Let the server settle, then measure what the registered devices cost at rest.
  await new Promise((resolve) => setTimeout(resolve, 200))
  const after = await server.gc()
  const redisCpu = redisBefore === undefined || redisAfter === undefined ? 0 : redisAfter.cpuMicros - redisBefore.cpuMicros
  const figures: Figures = {
    connectsPerSec: o.devices / seconds,
    cpuMicrosPerConnect: (busy.cpuMicros - idle.cpuMicros + redisCpu) / o.devices,
    heapBytesPerDevice: (after.heapUsed - idle.heapUsed) / o.devices,
    rssBytesPerDevice: (after.rss - idle.rss) / o.devices,
    registered: after.registered
  }
  // The warm-up's own connects, on the server just started: what a restart storm pays on top.
  if (cold !== undefined) figures.cpuMicrosPerConnectCold = cold
  // Counted (`--instructions`), redis-server's instructions are added to the node's.
  const counted = (stats: Sample, redis: { instructions?: number } | undefined): Sample =>
    stats.instructions === undefined || redis?.instructions === undefined ? stats : { ...stats, instructions: stats.instructions + redis.instructions, redisInstructions: redis.instructions }
  const idleCounted = counted(idle, redisBefore)
  const busyCounted = counted(busy, redisAfter)
  perInstruction(figures, 'instructionsPerConnect', idleCounted, busyCounted, o.devices)
  redisFigures(figures, 'PerConnect', { ...idleCounted, redisCommands: redisBefore?.commands }, { ...busyCounted, redisCommands: redisAfter?.commands }, o.devices)
  closeAll(devices)
  return figures
}

/**
 * Connects `count` devices that leave again before the measured window, so that the window sees the connect path
 * compiled as a server that has taken some connects runs it, not V8 compiling it. Resolves once the server has let
 * every one of them go. Answers their CPU per connect: the cold server's, compiling as it goes.
 */
async function warmUpConnects (server: ServerProcess, count: number, concurrency: number | undefined): Promise<number> {
  const before = await server.stats()
  const devices = await connectDevices(server, count, 'warm', concurrency)
  const after = await server.stats()
  closeAll(devices)
  // Bounded: a server that keeps a closed device registered for more than a minute fails the scenario.
  for (let tries = 0; await server.registered() > 0; tries++) {
    if (tries >= 1200) throw new Error('warm-up devices still registered a minute after they closed')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return (after.cpuMicros - before.cpuMicros) / count
}

/**
 * A server with `devices` registered devices crashes and restarts on the same port: time until every device is
 * registered again, the peak registration rate the new server saw, and how many were not back in time.
 */
export async function storm (start: (port: number) => Promise<ServerProcess>, server: ServerProcess, o: { devices: number, timeoutMs: number }): Promise<{ figures: Figures, server: ServerProcess }> {
  const devices = await connectDevices(server, o.devices)
  for (const device of devices) device.keepConnected(() => {})
  await server.kill()
  const killedAt = performance.now()
  const restarted = await start(server.port)
  let registered = 0
  while (performance.now() - killedAt < o.timeoutMs) {
    registered = (await restarted.stats()).registered
    if (registered >= o.devices) break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  const seconds = (performance.now() - killedAt) / 1000
  const stats = await restarted.stats()
  const peak = Math.max(0, ...stats.timeline)
  closeAll(devices)
  return {
    figures: { secondsToAllBack: seconds, peakRegistrationsPerSec: peak * 10, notBack: o.devices - registered, gaveUp: devices.filter((d) => d.gaveUp).length },
    server: restarted
  }
}

/** Options of {@link heartbeats}. */
export interface HeartbeatOptions {
  /** Registered devices taking turns. */
  devices: number
  /** Heartbeats per second at most (each alone: the next is sent once the one before was answered). */
  rate: number
  /** Heartbeats in the measured window. */
  count: number
  /** Heartbeats sent one at a time before the window, so that its code is warm. */
  warmup: number
}

/**
 * HEARTBEATs one at a time: `devices` registered devices take turns, each HEARTBEAT sent once the one before was
 * answered and no sooner than the schedule of `rate` says (so that a server slowed down by callgrind never finds two
 * in one read), after `warmup` heartbeats sent the same way. Counted (`--instructions`): instructions per HEARTBEAT
 * answered.
 */
export async function heartbeats (server: ServerProcess, o: HeartbeatOptions): Promise<Figures> {
  const devices = await connectDevices(server, o.devices, 'hb')
  // One answer awaited at a time: the device whose turn it is resolves it on its next HEARTBEAT `ok`.
  let answered: (() => void) | null = null
  const frames = devices.map((device) => {
    device.ws?.on('message', (data) => {
      if (answered !== null && data.toString().startsWith('{"type":"heartbeat","status":"ok"')) { const done = answered; answered = null; done() }
    })
    return clientFrame({ type: 'heartbeat', status: 'ok', client_type: 'device', client_id: device.id })
  })
  let turn = 0
  const beat = (): Promise<void> => new Promise((resolve) => {
    const at = turn++ % devices.length
    answered = resolve
    devices[at]?.ws?.send(frames[at] as string)
  })
  await paced(o.warmup, 0, beat)
  const before = await server.stats()
  await paced(o.count, 1000 / o.rate, beat)
  const after = await server.stats()
  closeAll(devices)
  const figures: Figures = { heartbeats: o.count, cpuMicrosPerHeartbeat: (after.cpuMicros - before.cpuMicros) / o.count }
  perInstruction(figures, 'instructionsPerHeartbeat', before, after, o.count)
  return figures
}
