import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { markdown, summarise, type ScenarioResult } from './report.js'
import { connect, latency, storm, throughput, type Figures } from './scenarios.js'
import { ServerProcess, type ServerKind } from './server-control.js'

// pnpm bench [--quick] [--only name,name] [--reps n] [--out dir]
// Every scenario runs against the real server (Fastify + the AIP endpoint) and the bare-ws baseline, each in
// its own process, alternating which goes first, and reports medians and the ratio real / baseline.

const argv = process.argv.slice(2)
const quick = argv.includes('--quick')
const only = argv.includes('--only') ? new Set((argv[argv.indexOf('--only') + 1] ?? '').split(',')) : null
const outDir = argv.includes('--out') ? resolve(argv[argv.indexOf('--out') + 1] ?? '.') : fileURLToPath(new URL('../../../bench/results/', import.meta.url))
const repetitions = argv.includes('--reps') ? Math.max(1, Number(argv[argv.indexOf('--reps') + 1])) : quick ? 1 : 3

const size = quick
  ? { devices: 20, window: 16, warmupMs: 200, durationMs: 600, rate: 200, connectDevices: 200, stormDevices: 200 }
  : { devices: 100, window: 128, warmupMs: 1000, durationMs: 5000, rate: 2000, connectDevices: 10_000, stormDevices: 10_000 }

type Run = (kind: ServerKind) => Promise<Figures>

async function withServer (kind: ServerKind, work: (server: ServerProcess) => Promise<Figures>): Promise<Figures> {
  const server = await ServerProcess.start(kind)
  try {
    return await work(server)
  } finally {
    await server.stop()
  }
}

const scenarios: Array<[string, Run]> = [
  ['throughput, 1 constellation', (kind) => withServer(kind, (s) => throughput(s, { devices: size.devices, constellations: 1, window: size.window, warmupMs: size.warmupMs, durationMs: size.durationMs }))],
  ['throughput, 10 constellations', (kind) => withServer(kind, (s) => throughput(s, { devices: size.devices, constellations: quick ? 2 : 10, window: size.window, warmupMs: size.warmupMs, durationMs: size.durationMs }))],
  [`latency at ${size.rate} tasks/s`, (kind) => withServer(kind, (s) => latency(s, { devices: size.devices, rate: size.rate, durationMs: size.durationMs * 2 }))],
  // The cost of the Prometheus metrics: the real server with them (reported as "real") against the real server
  // without them (reported as "baseline"), in the same run; the figure to read is cpuMicrosPerTask.
  ['metrics on vs off, throughput, 1 constellation', (kind) => withServer(kind === 'real' ? 'real-metrics' : 'real', (s) => throughput(s, { devices: size.devices, constellations: 1, window: size.window, warmupMs: size.warmupMs, durationMs: size.durationMs }))],
  [`connect ${size.connectDevices} devices`, (kind) => withServer(kind, (s) => connect(s, { devices: size.connectDevices }))],
  [`restart with ${size.stormDevices} devices`, async (kind) => {
    const first = await ServerProcess.start(kind)
    const { figures, server } = await storm((port) => ServerProcess.start(kind, port), first, { devices: size.stormDevices, timeoutMs: 60_000 })
    await server.stop()
    return figures
  }]
]

const results: ScenarioResult[] = []
const started = new Date()
for (const [name, run] of scenarios) {
  if (only !== null && ![...only].some((part) => name.includes(part))) continue
  const result: ScenarioResult = { scenario: name, repetitions: [] }
  for (let rep = 0; rep < repetitions; rep++) {
    const order: ServerKind[] = rep % 2 === 0 ? ['baseline', 'real'] : ['real', 'baseline']
    const figures: Partial<Record<ServerKind, Figures>> = {}
    for (const kind of order) figures[kind] = await run(kind)
    const repetition = { real: figures.real as Figures, baseline: figures.baseline as Figures }
    result.repetitions.push(repetition)
    process.stdout.write(`${JSON.stringify({ scenario: name, repetition: rep + 1, ...repetition })}\n`)
  }
  for (const row of summarise(result)) process.stdout.write(`${JSON.stringify({ scenario: name, summary: row })}\n`)
  results.push(result)
}

const header = [
  `# AIP benchmark${quick ? ' (quick)' : ''}`,
  '',
  `${started.toISOString()}; Node ${process.version}; ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}; ${Math.round(totalmem() / 2 ** 30)} GiB;`,
  `${repetitions} repetition(s), medians; real = Fastify + fastify-aip, baseline = bare ws; CPU figures are the server process's.`
].join('\n')
const table = markdown(results, header)
process.stdout.write(`\n${table}\n`)
mkdirSync(outDir, { recursive: true })
const stamp = started.toISOString().replace(/[:.]/g, '-')
writeFileSync(join(outDir, `bench-${stamp}.md`), `${table}\n`)
writeFileSync(join(outDir, `bench-${stamp}.jsonl`), results.map((r) => JSON.stringify(r)).join('\n') + '\n')
