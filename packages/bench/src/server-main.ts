import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { Session } from 'node:inspector/promises'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { constants, PerformanceObserver } from 'node:perf_hooks'
import { writeHeapSnapshot } from 'node:v8'
import { startBaselineServer } from './baseline-server.js'
import { startRealServer } from './real-server.js'
import { registerBenchTracing } from './tracer.js'

// A benchmark server in its own process: `node --expose-gc server-main.js <real|baseline|real-route|real-metrics|real-tracing|real-tracing-unsampled> <port>`. It answers
// the parent over IPC: `stats` (CPU, memory, registered clients, registrations per 100 ms), `gc`, `collect`, `stop`.
// With AIP_BENCH_CPU_PROF_WINDOW=<dir>, it profiles its measured window only: the profiler starts at the first
// `stats` or `gc` request (where a scenario's window opens) and the profile is written at the second (where it
// closes), so that start-up, connecting and the load generator's ramp are left out. With AIP_BENCH_REDIS_URL (and
// AIP_BENCH_REDIS_PREFIX, AIP_BENCH_NODE_ID), the real server is a cluster node on that Redis; AIP_BENCH_REDIS_CLOCK_MS
// sets its clock-driven timings (node lease, poll, acknowledgements) to that many ms (see RealServerRedis). With
// AIP_BENCH_HEAP_SNAPSHOT=<dir>, every `gc` request also writes a heap snapshot there, after the collection
// (`Heap.<kind>.<pid>.<n>.heapsnapshot`; `heap-diff` compares two of them). AIP_BENCH_LISTEN_BACKLOG=<n> sets the listen
// backlog (the scale scenario's servers).

export interface ServerStats {
  cpuMicros: number
  /** Of `cpuMicros`, the time spent in the kernel on the process's behalf (system time). */
  systemCpuMicros: number
  heapUsed: number
  rss: number
  registered: number
  /** Registrations per 100 ms bucket since the process started. */
  timeline: number[]
  /** Instructions executed so far (all threads), when the process runs under callgrind (`--instructions`). */
  instructions?: number
  /** CPU (user + system, µs) of every thread but the main one so far (V8's helpers, libuv's pool); Linux only. */
  helperCpuMicros?: number
  /** Minor page faults of the process so far (pages the kernel mapped in on first touch, system time). */
  minorFaults: number
  /** Context switches of the process so far: waits (voluntary) and preemptions (involuntary). */
  voluntarySwitches: number
  involuntarySwitches: number
  /** Young-generation collections (scavenges) so far. */
  scavenges: number
  /** Full collections (mark-compact) so far. */
  markCompacts: number
  /**
   * Of `instructions`, V8's collector's and its compilers' (self cost in the profiles callgrind wrote at each
   * sample), when window profiles are kept (`AIP_BENCH_CALLGRIND_DIR`).
   */
  collectorInstructions?: number
  compilerInstructions?: number
}

/**
 * `collect`: a full collection and nothing else (no sample, no heap snapshot, the window profiler not told): a
 * counted window opens right after one, so that every process starts it in the same collection state.
 */
export type ServerRequest = { id: number, cmd: 'stats' | 'gc' | 'collect' | 'stop' }
export type ServerReply = { id: number, stats: ServerStats }

const kind = process.argv[2]
const port = Number(process.argv[3] ?? 0)
/** The listen backlog asked for (AIP_BENCH_LISTEN_BACKLOG; the kernel caps it at `net.core.somaxconn`); unset: Node's 511. */
const backlog = process.env.AIP_BENCH_LISTEN_BACKLOG === undefined ? undefined : Number(process.env.AIP_BENCH_LISTEN_BACKLOG)
const started = performance.now()
const timeline: number[] = []

function onRegistered (): void {
  const bucket = Math.floor((performance.now() - started) / 100)
  timeline[bucket] = (timeline[bucket] ?? 0) + 1
}

/** Profiles the window between the first two `stats` or `gc` requests (see above), when asked. */
class WindowProfiler {
  readonly #dir: string
  #session: Session | null = null
  #requests = 0

  constructor (dir: string) {
    this.#dir = dir
  }

  /** Called at each `stats` or `gc` request, before it is answered. */
  async mark (): Promise<void> {
    this.#requests++
    if (this.#requests === 1) {
      const session = new Session()
      session.connect()
      await session.post('Profiler.enable')
      await session.post('Profiler.start')
      this.#session = session
    } else if (this.#requests === 2 && this.#session !== null) {
      const { profile } = await this.#session.post('Profiler.stop')
      this.#session.disconnect()
      this.#session = null
      mkdirSync(this.#dir, { recursive: true })
      writeFileSync(join(this.#dir, `CPU-window.${kind}.${process.pid}.cpuprofile`), JSON.stringify(profile))
    }
  }
}

const snapshotDir = process.env.AIP_BENCH_HEAP_SNAPSHOT
let snapshots = 0

/** Writes a heap snapshot after a `gc` request, when asked (see above). */
function snapshot (): void {
  if (snapshotDir === undefined || snapshotDir === '') return
  mkdirSync(snapshotDir, { recursive: true })
  writeHeapSnapshot(join(snapshotDir, `Heap.${kind}.${process.pid}.${++snapshots}.heapsnapshot`))
}

/** Collections counted as V8 reports them (`gc` performance entries). */
const collections = { scavenges: 0, markCompacts: 0 }
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const kind = (entry as unknown as { detail?: { kind?: number } | null }).detail?.kind
    if (kind === constants.NODE_PERFORMANCE_GC_MINOR) collections.scavenges++
    else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) collections.markCompacts++
  }
}).observe({ entryTypes: ['gc'] })

/** µs of CPU per clock tick of `/proc/<pid>/task/<tid>/stat` (`CLK_TCK`, 100 on Linux). */
const MICROS_PER_TICK = 10_000

/** CPU of the threads other than the main one, from `/proc/self/task` (`undefined` where there is none). */
function helperCpuMicros (): number | undefined {
  try {
    let ticks = 0
    for (const tid of readdirSync('/proc/self/task')) {
      if (Number(tid) === process.pid) continue
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
      // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      ticks += Number(fields[11]) + Number(fields[12])
    }
    return ticks * MICROS_PER_TICK
  } catch {
    return undefined
  }
}

const windowDir = process.env.AIP_BENCH_CPU_PROF_WINDOW
const profiler = windowDir === undefined || windowDir === '' ? null : new WindowProfiler(windowDir)

function stats (registered: number): ServerStats {
  const cpu = process.cpuUsage()
  const memory = process.memoryUsage()
  const helpers = helperCpuMicros()
  const usage = process.resourceUsage()
  return {
    cpuMicros: cpu.user + cpu.system,
    systemCpuMicros: cpu.system,
    heapUsed: memory.heapUsed,
    rss: memory.rss,
    registered,
    timeline: Array.from(timeline, (n) => n ?? 0),
    ...(helpers === undefined ? {} : { helperCpuMicros: helpers }),
    minorFaults: usage.minorPageFault,
    voluntarySwitches: usage.voluntaryContextSwitches,
    involuntarySwitches: usage.involuntaryContextSwitches,
    scavenges: collections.scavenges,
    markCompacts: collections.markCompacts
  }
}

async function main (): Promise<void> {
  let registered: () => number
  let close: () => Promise<void>
  let address: AddressInfo
  if (kind === 'baseline') {
    const http = createServer()
    const server = startBaselineServer(http, onRegistered)
    await new Promise<void>((resolve) => http.listen({ port, host: '127.0.0.1', ...(backlog === undefined ? {} : { backlog }) }, resolve))
    address = http.address() as AddressInfo
    registered = server.registered
    close = async () => { await server.close(); http.close() }
  } else if (kind === 'real' || kind === 'real-route' || kind === 'real-metrics' || kind === 'real-tracing' || kind === 'real-tracing-unsampled') {
    // Registered before the server starts, as an application registers its SDK first.
    if (kind === 'real-tracing' || kind === 'real-tracing-unsampled') registerBenchTracing({ sampled: kind === 'real-tracing' })
    const url = process.env.AIP_BENCH_REDIS_URL
    const clockMs = process.env.AIP_BENCH_REDIS_CLOCK_MS === undefined ? undefined : Number(process.env.AIP_BENCH_REDIS_CLOCK_MS)
    const redis = url === undefined || url === ''
      ? undefined
      : { url, keyPrefix: process.env.AIP_BENCH_REDIS_PREFIX ?? 'aip-bench:', nodeId: process.env.AIP_BENCH_NODE_ID ?? `bench-${process.pid}`, ...(clockMs === undefined ? {} : { clockMs }) }
    const server = await startRealServer(port, onRegistered, { metrics: kind === 'real-metrics', upgrade: kind === 'real-route' ? 'route' : 'direct', ...(redis === undefined ? {} : { redis }), ...(backlog === undefined ? {} : { backlog }) })
    address = server.address
    registered = server.registered
    close = server.close
  } else {
    throw new Error(`unknown server kind ${String(kind)}`)
  }
  const answer = (request: ServerRequest): void => {
    process.send?.({ id: request.id, stats: stats(registered()) } satisfies ServerReply)
    if (request.cmd === 'stop') {
      close().finally(() => process.exit(0))
    }
  }
  // A bench that dies (killed, or a crash) leaves no server behind: its IPC channel closing ends this process.
  process.on('disconnect', () => { process.exit(0) })
  process.on('message', (request: ServerRequest) => {
    if (request.cmd === 'collect') {
      globalThis.gc?.()
      answer(request)
      return
    }
    if (request.cmd === 'gc') {
      globalThis.gc?.()
      snapshot()
    }
    if (profiler === null || request.cmd === 'stop') {
      answer(request)
      return
    }
    // The profiler's own start and stop stay outside the CPU figures: the stats are read after them.
    profiler.mark().then(() => { answer(request) }, (err: unknown) => {
      process.stderr.write(`window profile: ${String(err)}\n`)
      answer(request)
    })
  })
  process.send?.({ ready: true, port: address.port })
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`)
  process.exit(1)
})
