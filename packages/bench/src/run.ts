import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as delay } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { markdown, summarise, type ScenarioResult } from './report.js'
import { defaultScaleWorkers, SCALE_LISTEN_BACKLOG, scale, scalePlan } from './scale.js'
import { callgrindMissing, callgrindWrapper } from './instructions.js'
import { BenchRedis, redisServerMissing } from './redis.js'
import { connect, heartbeats, latency, meeting, storm, throughput, type Deployment, type Figures, type Sample } from './scenarios.js'
import { pinPlan, pinSelf } from './pinning.js'
import { ServerProcess, type ChildOptions, type ServerKind } from './server-control.js'
import { checkRatioTargets, checkScaleGoals, SCALE_GOALS, targetsMarkdown } from './targets.js'

// pnpm bench [--quick] [--only name,name] [--reps n] [--out dir] [--scale] [--scale-devices n] [--scale-workers n] [--pin] [--instructions]
// Every scenario runs against the real server (Fastify + the AIP endpoint) and the bare-ws baseline, each in
// its own process, alternating which goes first, and reports medians and the ratio real / baseline.

const USAGE = `usage: pnpm bench [--quick] [--only name,name] [--reps n] [--out dir] [--scale] [--scale-devices n] [--scale-workers n] [--pin] [--instructions] [--warmup-tasks n] [--collect-first]
  --quick            a short run of every scenario (the quick scale one included), one repetition each
  --only parts       only the scenarios whose name holds one of the parts (a part "^text": whose name starts with it);
                     parts are separated by a comma not followed by a space (scenario names hold ", ")
  --reps n           repetitions per scenario (default 3; 1 with --quick; the scale scenario runs once unless given)
  --out dir          where the report is written (default bench/results/ at the repository root)
  --scale            add the scale scenario (also run when --only names it)
  --scale-devices n  devices of the scale scenario
  --scale-workers n  load generator processes of the scale scenario
  --pin              server processes on one CPU, the load generator on the others (Linux, taskset, 2+ CPUs)
  --instructions     servers under valgrind's callgrind: instructions per task and per connect, which do not depend
                     on the machine's load (light load, metrics and tracing on it, connects one at a time, and the
                     Redis scenarios at that light load with redis-server counted too; needs valgrind; slow)
  --warmup-tasks n   with --instructions: tasks run one at a time before each light-load window (default 8,000;
                     200 with --quick), to read a window in a steadier state of V8's compilers
  --collect-first    with --instructions: the counted Redis scenarios force a full collection in every server
                     process after the warm-up, then run 500 more tasks, then open the window (see the README)
  --help             this text
`

/** Exits 2 with `message` and the usage on stderr: a mistyped option must not start a 20-minute run. */
function usageError (message: string): never {
  process.stderr.write(`bench: ${message}\n${USAGE}`)
  process.exit(2)
}

let args: ReturnType<typeof parseBenchArgs>
function parseBenchArgs () {
  return parseArgs({
    args: process.argv.slice(2),
    strict: true,
    allowPositionals: false,
    options: {
      quick: { type: 'boolean' },
      only: { type: 'string' },
      reps: { type: 'string' },
      out: { type: 'string' },
      scale: { type: 'boolean' },
      'scale-devices': { type: 'string' },
      'scale-workers': { type: 'string' },
      pin: { type: 'boolean' },
      instructions: { type: 'boolean' },
      'warmup-tasks': { type: 'string' },
      'collect-first': { type: 'boolean' },
      help: { type: 'boolean' }
    }
  }).values
}
try {
  args = parseBenchArgs()
} catch (err) {
  usageError((err as Error).message)
}
if (args.help === true) {
  process.stdout.write(USAGE)
  process.exit(0)
}

/** A positive integer option, or `undefined` when not given. */
function count (name: 'reps' | 'scale-devices' | 'scale-workers' | 'warmup-tasks'): number | undefined {
  const text = args[name]
  if (text === undefined) return undefined
  const value = Number(text)
  if (!Number.isInteger(value) || value < 1) usageError(`--${name} must be a positive integer, got ${JSON.stringify(text)}`)
  return value
}

const quick = args.quick === true
// Scenario names hold ", " (comma and space): the parts of --only are separated by a comma not followed by a space.
const only = args.only === undefined ? null : new Set(args.only.split(/,(?! )/).filter((part) => part !== ''))
if (only !== null && only.size === 0) usageError('--only needs at least one scenario name')
const outDir = args.out === undefined ? fileURLToPath(new URL('../../../bench/results/', import.meta.url)) : resolve(args.out)
const reps = count('reps')
const repetitions = reps ?? (quick ? 1 : 3)
// The scale scenario is heavy: it runs when selected (`--only scale`), with `--scale`, or in its quick size.
const withScale = args.scale === true || quick || (only !== null && [...only].some((part) => part.replace(/^\^/, '').startsWith('scale')))
const scaleDevices = count('scale-devices')
const scaleWorkers = count('scale-workers')

// --instructions: a server under callgrind runs some 50 times slower, so its windows are longer in time and smaller
// in work; the light load keeps each task alone (a task every 50 ms, about 5 ms of work each), after warm-up tasks.
const instructions = args.instructions === true
if (instructions) {
  if (args.scale === true) usageError('--instructions measures the per-task and connect scenarios, not the scale one')
  const missing = callgrindMissing()
  if (missing !== null) usageError(`--instructions: ${missing}`)
}

const size = quick
  ? { devices: 20, window: 16, warmupMs: 200, durationMs: 600, rate: 200, lightRate: 100, lightWarmupTasks: 0, lightWarmupMs: 200, connectDevices: 200, connectWarmupDevices: 0, stormDevices: 200, scaleDevices: 500, heartbeatMs: 1000 }
  : { devices: 100, window: 128, warmupMs: 1000, durationMs: 5000, rate: 2000, lightRate: 500, lightWarmupTasks: 0, lightWarmupMs: 10_000, connectDevices: 10_000, connectWarmupDevices: 2000, stormDevices: 10_000, scaleDevices: SCALE_GOALS.scaleDevices, heartbeatMs: SCALE_GOALS.heartbeatMs }
if (instructions) Object.assign(size, quick ? { durationMs: 5000, lightRate: 10, lightWarmupTasks: 200, connectDevices: 200, connectWarmupDevices: 100 } : { durationMs: 15_000, lightRate: 20, lightWarmupTasks: 8000, connectDevices: 2000, connectWarmupDevices: 2000 })
const warmupTasks = count('warmup-tasks')
if (warmupTasks !== undefined) {
  if (!instructions) usageError('--warmup-tasks sets the warm-up of the counted light load: it needs --instructions')
  size.lightWarmupTasks = warmupTasks
}
const collectFirst = args['collect-first'] === true
if (collectFirst && !instructions) usageError('--collect-first sets the windows of the counted Redis scenarios: it needs --instructions')
const scaleOptions = {
  devices: scaleDevices ?? size.scaleDevices,
  heartbeatMs: size.heartbeatMs,
  workers: scaleWorkers ?? defaultScaleWorkers(),
  timeoutMs: 120_000
}

// --pin: the load generator (this process, and the workers it forks after this) on some CPUs, every server on
// another. A machine that cannot pin refuses the flag before anything runs.
let pinning = 'not pinned'
if (args.pin === true) {
  const plan = pinPlan()
  if ('unavailable' in plan) usageError(`--pin: ${plan.unavailable}`)
  pinSelf(plan.loadCpus)
  ServerProcess.cpus = plan.serverCpus
  pinning = `servers pinned to CPU ${plan.serverCpus}, the load generator to CPU ${plan.loadCpus}`
}

// AIP_BENCH_CALLGRIND_DIR=<dir> with --instructions: every sample writes the server's profile since the previous one
// there, kept after the run (a window's is `callgrind.<pid>.2`; read it with `callgrind_annotate`).
let callgrindDir: string | null = null
if (instructions) {
  const kept = process.env.AIP_BENCH_CALLGRIND_DIR
  if (kept !== undefined && kept !== '') {
    mkdirSync(kept, { recursive: true })
    ServerProcess.callgrindDir = resolve(kept)
    ServerProcess.dumpWindows = true
  } else {
    callgrindDir = mkdtempSync(join(tmpdir(), 'aip-bench-callgrind-'))
    ServerProcess.callgrindDir = callgrindDir
  }
}

type Run = (kind: ServerKind) => Promise<Figures>

/** Whether the `ws` that the real server runs on can load `bufferutil` (ws's optional native masking addon). */
function nativeMaskingAvailable (): boolean {
  try {
    const fromBench = createRequire(import.meta.url)
    const fromPlugin = createRequire(fromBench.resolve('fastify-aip'))
    const fromWebsocket = createRequire(fromPlugin.resolve('@fastify/websocket'))
    createRequire(fromWebsocket.resolve('ws'))('bufferutil')
    return true
  } catch {
    return false
  }
}

async function withServer (kind: ServerKind, work: (server: ServerProcess) => Promise<Figures>, options?: ChildOptions): Promise<Figures> {
  const server = await ServerProcess.start(kind, 0, options)
  try {
    return await work(server)
  } finally {
    await server.stop()
  }
}

const throughputRun = (s: ServerProcess, constellations: number): Promise<Figures> =>
  throughput(s, { devices: size.devices, constellations, window: size.window, warmupMs: size.warmupMs, durationMs: size.durationMs })

/**
 * A scenario runs each kind in turn (`run`), or both at once (`runBoth`: both servers measured in the same seconds,
 * see {@link meeting}).
 */
type Scenario = { name: string, repetitions?: number } & ({ run: Run } | { runBoth: (first: ServerKind) => Promise<Record<'real' | 'baseline', Figures>> })

/**
 * The light load on both servers at once, their windows meeting: the same open loop, the second server's ticks half
 * a tick (5 ms) after the `first`'s, so that the two servers, pinned to one CPU, rarely get their tasks in the same
 * moment (which goes first alternates with the repetitions, as the order of the other scenarios does). One load
 * generator drives both (twice the light load's tasks, well within one core).
 */
async function lightSideBySide (first: ServerKind): Promise<Record<'real' | 'baseline', Figures>> {
  const [real, baseline] = await Promise.all([ServerProcess.start('real'), ServerProcess.start('baseline')])
  try {
    const meet = meeting(2)
    const second = async (): Promise<void> => { await meet(); await delay(5) }
    const options = { devices: size.devices, rate: size.lightRate, durationMs: size.durationMs * 2, warmupTasks: size.lightWarmupTasks, warmupMs: size.lightWarmupMs }
    const [realFigures, baselineFigures] = await Promise.all([
      latency(real, { ...options, beforeWindow: first === 'real' ? meet : second }),
      latency(baseline, { ...options, beforeWindow: first === 'real' ? second : meet })
    ])
    return { real: realFigures, baseline: baselineFigures }
  } finally {
    await Promise.all([real.stop(), baseline.stop()])
  }
}

// The Redis scenarios share one redis-server, started by the first of them and stopped at the end; every server
// process gets its own key prefix per run, so that no run sees another's state.
let redis: Promise<BenchRedis> | null = null
// Counted (`--instructions`), redis-server runs under callgrind as the nodes do.
const redisServer = (): Promise<BenchRedis> => (redis ??= BenchRedis.start(ServerProcess.callgrindDir === undefined ? [] : callgrindWrapper(ServerProcess.callgrindDir)).then((server) => {
  server.dumpWindows = ServerProcess.dumpWindows
  return server
}))
let clusterRuns = 0

// Counted (`--instructions`), a node's clock-driven work (lease renewals, the node watch, polls, acknowledgements)
// is pushed out of the window: a paced window under callgrind lasts minutes, and that work, charged to its tasks,
// hid the task path. The timed scenarios keep the defaults.
const COUNTED_CLOCK_MS = 3_600_000

/** Starts a real server as node `nodeId` of a cluster on the bench's Redis, under the key prefix of `run`. */
async function startNode (nodeId: string, run: number): Promise<ServerProcess> {
  const { url } = await redisServer()
  const env: Record<string, string> = { AIP_BENCH_REDIS_URL: url, AIP_BENCH_REDIS_PREFIX: `bench${process.pid}-${run}:`, AIP_BENCH_NODE_ID: nodeId }
  if (instructions) env.AIP_BENCH_REDIS_CLOCK_MS = String(COUNTED_CLOCK_MS)
  return await ServerProcess.start('real', 0, { env })
}

/** Nodes on Redis as one deployment: their CPU and redis-server's summed, and Redis's command count. */
function onRedis (server: BenchRedis, deviceNode: ServerProcess, constellationNode: ServerProcess): Deployment {
  const nodes = deviceNode === constellationNode ? [deviceNode] : [deviceNode, constellationNode]
  return {
    deviceUrl: deviceNode.url,
    constellationUrl: constellationNode.url,
    collect: async () => { await Promise.all(nodes.map((node) => node.collect())) },
    rehearse: async () => { await Promise.all(nodes.map((node) => node.rehearse())) },
    sample: async () => {
      const { commands, cpuMicros, instructions } = await server.sample()
      const stats = await Promise.all(nodes.map((node) => node.stats()))
      // redis-server's CPU is left out (not added as NaN) where /proc cannot be read.
      const sample: Sample = { cpuMicros: stats.reduce((sum, s) => sum + s.cpuMicros, Number.isFinite(cpuMicros) ? cpuMicros : 0), redisCommands: commands }
      // Counted (`--instructions`): every node's instructions and redis-server's.
      if (instructions !== undefined) {
        sample.instructions = stats.reduce((sum, s) => sum + (s.instructions ?? Number.NaN), instructions)
        sample.redisInstructions = instructions
        sample.nodeInstructions = stats.map((s) => s.instructions ?? Number.NaN)
        // redis-server has no collector and no compiler: the nodes' shares (when their window profiles were read).
        if (stats.every((s) => s.collectorInstructions !== undefined && s.compilerInstructions !== undefined)) {
          sample.collectorInstructions = stats.reduce((sum, s) => sum + (s.collectorInstructions as number), 0)
          sample.compilerInstructions = stats.reduce((sum, s) => sum + (s.compilerInstructions as number), 0)
        }
      }
      return sample
    }
  }
}

/** Runs `work` on one node on the bench's Redis (`crossNode`: devices on node a, constellations on node b). */
async function onNodes (crossNode: boolean, work: (deployment: Deployment) => Promise<Figures>): Promise<Figures> {
  const server = await redisServer()
  const run = ++clusterRuns
  const a = await startNode('a', run)
  try {
    if (!crossNode) return await work(onRedis(server, a, a))
    const b = await startNode('b', run)
    try {
      return await work(onRedis(server, a, b))
    } finally {
      await b.stop()
    }
  } finally {
    await a.stop()
  }
}

/** The Redis scenarios: a cluster on Redis ("real") against the single-node in-memory real server ("baseline"). */
const redisScenarios: Scenario[] = [
  {
    name: 'redis same-node, throughput',
    run: async (kind) => {
      if (kind === 'baseline') return await withServer('real', (s) => throughputRun(s, 1))
      const server = await redisServer()
      const node = await startNode('a', ++clusterRuns)
      try {
        return await throughput(onRedis(server, node, node), { devices: size.devices, constellations: 1, window: size.window, warmupMs: size.warmupMs, durationMs: size.durationMs })
      } finally {
        await node.stop()
      }
    }
  },
  {
    name: 'redis cross-node, throughput',
    run: async (kind) => {
      if (kind === 'baseline') return await withServer('real', (s) => throughputRun(s, 1))
      const server = await redisServer()
      const run = ++clusterRuns
      const a = await startNode('a', run)
      try {
        const b = await startNode('b', run)
        try {
          return await throughput(onRedis(server, a, b), { devices: size.devices, constellations: 1, window: size.window, warmupMs: size.warmupMs, durationMs: size.durationMs })
        } finally {
          await b.stop()
        }
      } finally {
        await a.stop()
      }
    }
  },
  {
    name: `redis registration, ${size.connectDevices} devices`,
    run: async (kind) => {
      if (kind === 'baseline') return await withServer('real', (s) => connect(s, { devices: size.connectDevices, warmupDevices: size.connectWarmupDevices }))
      const server = await redisServer()
      const node = await startNode('a', ++clusterRuns)
      try {
        return await connect(node, { devices: size.connectDevices, redis: server })
      } finally {
        await node.stop()
      }
    }
  }
]

const scenarios: Scenario[] = [
  { name: 'throughput, 1 constellation', run: (kind) => withServer(kind, (s) => throughputRun(s, 1)) },
  { name: 'throughput, 10 constellations', run: (kind) => withServer(kind, (s) => throughputRun(s, quick ? 2 : 10)) },
  { name: `latency at ${size.rate} tasks/s`, run: (kind) => withServer(kind, (s) => latency(s, { devices: size.devices, rate: size.rate, durationMs: size.durationMs * 2 })) },
  // Light load: what most fleets see most of the time; no batching hides the fixed per-task costs.
  { name: `light load, ${size.lightRate} tasks/s`, run: (kind) => withServer(kind, (s) => latency(s, { devices: size.devices, rate: size.lightRate, durationMs: size.durationMs * 2, warmupTasks: size.lightWarmupTasks, warmupMs: size.lightWarmupMs })) },
  // The same, both servers at once (see lightSideBySide): what a shared machine does to one window it does to both.
  { name: `light load, ${size.lightRate} tasks/s, side by side`, runBoth: lightSideBySide },
  // The cost of the Prometheus metrics: the real server with them (reported as "real") against the real server
  // without them (reported as "baseline"), in the same run; the figure to read is cpuMicrosPerTask.
  { name: 'metrics on vs off, throughput, 1 constellation', run: (kind) => withServer(kind === 'real' ? 'real-metrics' : 'real', (s) => throughputRun(s, 1)) },
  // The cost of tracing: the real server with an OpenTelemetry SDK-like tracer provider and context manager
  // registered (recording every span, batching them to an exporter) against the real server with none (the API's
  // no-op, the default), in the same run; the figure to read is cpuMicrosPerTask.
  { name: 'tracing on vs off, throughput, 1 constellation', run: (kind) => withServer(kind === 'real' ? 'real-tracing' : 'real', (s) => throughputRun(s, 1)) },
  // The same SDK with a sampler that drops every span: the trace context still travels (ids drawn, `traceparent`
  // written), nothing is recorded; what a server pays for the spans a ratio sampler leaves out.
  { name: 'tracing sampled out vs off, throughput, 1 constellation', run: (kind) => withServer(kind === 'real' ? 'real-tracing-unsampled' : 'real', (s) => throughputRun(s, 1)) },
  { name: `connect ${size.connectDevices} devices`, run: (kind) => withServer(kind, (s) => connect(s, { devices: size.connectDevices, warmupDevices: size.connectWarmupDevices })) },
  // The same with fastify-aip's `upgrade: 'route'` (the plugin's default in an app with hooks of its own): each
  // upgrade routed by Fastify, against the same floor.
  { name: `connect ${size.connectDevices} devices (route upgrade)`, run: (kind) => withServer(kind === 'real' ? 'real-route' : kind, (s) => connect(s, { devices: size.connectDevices, warmupDevices: size.connectWarmupDevices })) },
  {
    name: `restart with ${size.stormDevices} devices`,
    run: async (kind) => {
      const first = await ServerProcess.start(kind)
      const { figures, server } = await storm((port) => ServerProcess.start(kind, port), first, { devices: size.stormDevices, timeoutMs: 60_000 })
      await server.stop()
      return figures
    }
  }
]

// ws's optional native masking addon, when the server's ws can load it: the real server with `bufferutil`
// (reported as "real") against the real server with it turned off by `WS_NO_BUFFER_UTIL` (reported as "baseline").
// Scenarios this machine cannot run: known names for --only, said on stderr, left out of the run.
const skipped: Scenario[] = []
const bufferutilScenario: Scenario = { name: 'bufferutil on vs off, throughput, 1 constellation', run: (kind) => withServer('real', (s) => throughputRun(s, 1), kind === 'real' ? {} : { env: { WS_NO_BUFFER_UTIL: '1' } }) }
if (nativeMaskingAvailable() && process.env.WS_NO_BUFFER_UTIL === undefined) scenarios.splice(7, 0, bufferutilScenario)
else skipped.push(bufferutilScenario)

const redisMissing = redisServerMissing()
if (redisMissing === null) {
  if (!instructions) scenarios.push(...redisScenarios)
} else {
  process.stderr.write(`redis scenarios skipped: ${redisMissing}\n`)
  skipped.push(...redisScenarios)
}

const plan = scalePlan(scaleOptions)
if (withScale) {
  scenarios.push({
    name: `scale on one node, ${plan.devices} devices`,
    // One repetition unless `--reps` says otherwise: a run holds every device twice (both servers).
    repetitions: reps ?? 1,
    run: (kind) => scale((port) => ServerProcess.start(kind, port, { nofile: plan.devices + 1000, env: { AIP_BENCH_LISTEN_BACKLOG: String(SCALE_LISTEN_BACKLOG) } }), plan, scaleOptions)
  })
}

// Under callgrind, only work done the same way whatever the timing is counted: tasks one at a time (light load:
// paced, so that they never meet however slow the counted server runs, after 8,000 warm-up tasks also one at a time,
// since V8 optimises the task path only after a few thousand tasks) and devices connecting one at a time (after
// 2,000 warm-up devices that connect and leave: on a fresh server half of a counted connect was V8 compiling the
// connect path, a share that 10,000 connects, the timed scenario, spread five times thinner). A closed
// loop is not: how many frames a server finds per read depends on how fast each side runs, and the count per task
// with it (the same build gave 255k and 405k instructions per task). The metrics and tracing costs, and the Redis
// scenarios, are counted on the paced light load instead of the throughput run.
if (instructions) {
  const lightOptions = { devices: size.devices, rate: size.lightRate, durationMs: size.durationMs * 2, warmupTasks: size.lightWarmupTasks, alone: true }
  const light = (kind: ServerKind): Promise<Figures> => withServer(kind, (s) => latency(s, lightOptions))
  const heartbeatSize = quick ? { devices: 20, rate: 50, count: 100, warmup: 200 } : { devices: 200, rate: 50, count: 1000, warmup: 20_000 }
  const oneAtATime = (kind: ServerKind): Promise<Figures> => withServer(kind, (s) => connect(s, { devices: size.connectDevices, concurrency: 1, warmupDevices: size.connectWarmupDevices }))
  skipped.push(...scenarios.splice(0))
  scenarios.push(
    { name: `light load, ${size.lightRate} tasks/s`, run: light },
    { name: `metrics on vs off, light load, ${size.lightRate} tasks/s`, run: (kind) => light(kind === 'real' ? 'real-metrics' : 'real') },
    { name: `tracing on vs off, light load, ${size.lightRate} tasks/s`, run: (kind) => light(kind === 'real' ? 'real-tracing' : 'real') },
    { name: `tracing sampled out vs off, light load, ${size.lightRate} tasks/s`, run: (kind) => light(kind === 'real' ? 'real-tracing-unsampled' : 'real') },
    { name: `connect ${size.connectDevices} devices, one at a time`, run: oneAtATime },
    { name: `connect ${size.connectDevices} devices, one at a time (route upgrade)`, run: (kind) => oneAtATime(kind === 'real' ? 'real-route' : kind) },
    // HEARTBEATs one at a time from registered devices taking turns: instructions per HEARTBEAT answered.
    { name: `heartbeat, ${heartbeatSize.devices} devices, one at a time`, run: (kind) => withServer(kind, (s) => heartbeats(s, heartbeatSize)) }
  )
  // The cluster on Redis at the same light load (a task every 50 ms, each alone): instructions of every node and of
  // redis-server (under callgrind too) per task, against the in-memory real server's; registrations one at a time.
  // With --collect-first, both sides' windows open in the same collection state (see "Instruction counts" in the
  // README): a full collection forced in every server process, then tasks one at a time (500, a quarter of a shorter
  // warm-up), then the window. Not the default: after a forced collection V8 compiles the task path again, and on
  // the nodes 500 tasks were not enough for it to settle (their compilers' share grew fourfold); the collectors' and
  // compilers' shares are reported apart instead, and the ratio without them is read beside the target's.
  const fairOptions = collectFirst ? { ...lightOptions, collectFirst: true, tasksAfterCollect: Math.min(500, Math.ceil(size.lightWarmupTasks / 4)) } : lightOptions
  const fairLight = (): Promise<Figures> => withServer('real', (s) => latency(s, fairOptions))
  const counted: Scenario[] = [
    { name: `redis same-node, light load, ${size.lightRate} tasks/s`, run: (kind) => kind === 'baseline' ? fairLight() : onNodes(false, (deployment) => latency(deployment, fairOptions)) },
    { name: `redis cross-node, light load, ${size.lightRate} tasks/s`, run: (kind) => kind === 'baseline' ? fairLight() : onNodes(true, (deployment) => latency(deployment, fairOptions)) },
    {
      name: `redis registration, ${size.connectDevices} devices, one at a time`,
      run: async (kind) => {
        if (kind === 'baseline') return await oneAtATime('real')
        const server = await redisServer()
        const node = await startNode('a', ++clusterRuns)
        try {
          return await connect(node, { devices: size.connectDevices, concurrency: 1, warmupDevices: size.connectWarmupDevices, redis: server })
        } finally {
          await node.stop()
        }
      }
    }
  ]
  if (redisMissing === null) scenarios.push(...counted)
  else skipped.push(...counted)
}

/** Whether `--only` (when given) selects the scenario `name`. */
const selected = (name: string): boolean => only === null || [...only].some((part) => part.startsWith('^') ? name.startsWith(part.slice(1)) : name.includes(part))
// A mistyped --only is refused; one that selects only scenarios skipped here runs nothing and succeeds.
if (![...scenarios, ...skipped].some((scenario) => selected(scenario.name))) {
  usageError(`no scenario matches --only ${JSON.stringify(args.only)}; the scenarios:\n${[...scenarios, ...skipped].map((scenario) => `  ${scenario.name}`).join('\n')}`)
}

/** The figures a run under callgrind reports: times and rates there are callgrind's, not the server's. */
function countedFigures (figures: Figures): Figures {
  return Object.fromEntries(Object.entries(figures).filter(([name]) => !/^(cpuMicros|helperCpuMicros|systemCpuMicros|p50Ms|p99Ms|tasksPerSec|connectsPerSec)/.test(name)))
}

const results: ScenarioResult[] = []
const started = new Date()
for (const scenario of scenarios) {
  const { name } = scenario
  if (!selected(name)) continue
  if (name.startsWith('scale') && plan.capped) {
    process.stderr.write(`scale: ${scaleOptions.devices} devices asked, the open-file hard limit (ulimit -Hn = ${plan.fileLimit}) allows ${plan.devices} in one server process; goals are projected\n`)
  }
  const result: ScenarioResult = { scenario: name, repetitions: [] }
  for (let rep = 0; rep < (scenario.repetitions ?? repetitions); rep++) {
    const order: ServerKind[] = rep % 2 === 0 ? ['baseline', 'real'] : ['real', 'baseline']
    const figures: Partial<Record<ServerKind, Figures>> = 'runBoth' in scenario ? await scenario.runBoth(order[0] as ServerKind) : {}
    if ('run' in scenario) for (const kind of order) figures[kind] = instructions ? countedFigures(await scenario.run(kind)) : await scenario.run(kind)
    const repetition = { real: figures.real as Figures, baseline: figures.baseline as Figures }
    result.repetitions.push(repetition)
    process.stdout.write(`${JSON.stringify({ scenario: name, repetition: rep + 1, ...repetition })}\n`)
  }
  for (const row of summarise(result)) process.stdout.write(`${JSON.stringify({ scenario: name, summary: row })}\n`)
  results.push(result)
}

// (A cast: the scenarios set `redis` in closures, which the compiler does not follow.)
const startedRedis = redis as Promise<BenchRedis> | null
if (startedRedis !== null) await (await startedRedis).stop()
if (callgrindDir !== null) rmSync(callgrindDir, { recursive: true, force: true })

const checks = [
  ...checkRatioTargets(results),
  ...results.filter((r) => r.scenario.startsWith('scale')).flatMap((r) => checkScaleGoals(r))
]
for (const check of checks) process.stdout.write(`${JSON.stringify({ target: check })}\n`)

const header = [
  `# AIP benchmark${quick ? ' (quick)' : ''}`,
  '',
  `${started.toISOString()}; Node ${process.version}; ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}; ${Math.round(totalmem() / 2 ** 30)} GiB;`,
  `${repetitions} repetition(s), medians; real = Fastify + fastify-aip, baseline = bare ws; CPU figures are the server process's; ${pinning}.`,
  ...(instructions ? ['Servers under callgrind: instructions executed by the server process (user space, all threads); the kernel\'s share is not counted.'] : []),
  'Redis scenarios: real = nodes of a cluster on Redis, baseline = the single-node in-memory real server; their CPU figures sum every node and redis-server.'
].join('\n')
const table = [markdown(results, header), targetsMarkdown(checks)].filter((part) => part !== '').join('\n\n')
process.stdout.write(`\n${table}\n`)
mkdirSync(outDir, { recursive: true })
const stamp = started.toISOString().replace(/[:.]/g, '-')
writeFileSync(join(outDir, `bench-${stamp}.md`), `${table}\n`)
writeFileSync(join(outDir, `bench-${stamp}.jsonl`), results.map((r) => JSON.stringify(r)).join('\n') + '\n')
