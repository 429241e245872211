import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'tap'

// The benchmark is measured by `pnpm bench`; this runs its quick mode so that it never rots. No timing is
// asserted: only that every scenario ran against both servers and produced finite figures.
test('the quick benchmark runs every scenario against both servers and writes its report', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'aip-bench-'))
  t.teardown(() => rmSync(out, { recursive: true, force: true }))
  const redisInstalled = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0
  const run = spawnSync(process.execPath, ['--expose-gc', join(import.meta.dirname, '..', 'dist', 'run.js'), '--quick', '--out', out], { encoding: 'utf8', timeout: 400_000 })
  t.equal(run.status, 0, run.stderr)
  const lines = run.stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line))
  const repetitions = lines.filter((line) => line.repetition !== undefined)
  // The bufferutil scenario runs only where the server's ws can load the addon.
  const names = repetitions.map((line) => line.scenario.replace(/\d+/g, 'N')).filter((name) => !name.startsWith('bufferutil'))
  t.same(names, [
    'throughput, N constellation',
    'throughput, N constellations',
    'latency at N tasks/s',
    'light load, N tasks/s',
    'light load, N tasks/s, side by side',
    'metrics on vs off, throughput, N constellation',
    'tracing on vs off, throughput, N constellation',
    'tracing sampled out vs off, throughput, N constellation',
    'connect N devices',
    'connect N devices (route upgrade)',
    'restart with N devices',
    // The Redis scenarios run where redis-server is installed; elsewhere the run says on stderr that it skipped them.
    ...(redisInstalled ? ['redis same-node, throughput', 'redis cross-node, throughput', 'redis registration, N devices'] : []),
    'scale on one node, N devices'
  ], 'every scenario (the quick scale one included), one repetition each')
  if (!redisInstalled) t.match(run.stderr, /redis scenarios skipped: redis-server is not installed/)
  for (const line of repetitions) {
    for (const kind of ['real', 'baseline']) {
      t.ok(Object.values(line[kind]).every((v) => Number.isFinite(v)), `${line.scenario}: ${kind} figures are finite`)
    }
  }
  const storm = repetitions.find((line) => line.scenario.startsWith('restart'))
  t.equal(storm.real.notBack, 0, 'every device came back to the real server')
  t.equal(storm.real.gaveUp, 0, 'no device gave up')
  const scale = repetitions.find((line) => line.scenario.startsWith('scale on one node'))
  for (const kind of ['real', 'baseline']) {
    t.equal(scale[kind].notBack, 0, `scale: every device came back to the ${kind} server after its restart`)
    t.ok(scale[kind].heartbeatsPerSec > 0, `scale: the ${kind} server answered heartbeats`)
  }
  // Targets are printed, never asserted: only that each has been checked one way or the other.
  const targets = lines.filter((line) => line.target !== undefined).map((line) => line.target)
  for (const scenario of ['throughput, 1 constellation', 'throughput, 10 constellations', 'light load', 'connect', 'scale on one node']) {
    t.ok(targets.some((target) => target.scenario.startsWith(scenario) && typeof target.met === 'boolean'), `a target of ${scenario} is checked`)
  }
  if (redisInstalled) {
    for (const scenario of ['redis same-node', 'redis cross-node']) {
      const line = repetitions.find((l) => l.scenario.startsWith(scenario))
      t.equal(line.real.failed, 0, `${scenario}: no task failed on the cluster`)
      t.ok(line.real.redisCommandsPerTask > 0, `${scenario}: Redis commands per task are reported`)
    }
    const registration = repetitions.find((l) => l.scenario.startsWith('redis registration'))
    t.equal(registration.real.registered, registration.baseline.registered, 'redis registration: every device registered on the cluster node')
    t.ok(registration.real.redisCommandsPerConnect > 0, 'redis registration: Redis commands per connect are reported')
    for (const scenario of ['redis same-node', 'redis cross-node', 'redis registration']) {
      t.ok(targets.some((target) => target.scenario.startsWith(scenario) && typeof target.met === 'boolean'), `a target of ${scenario} is checked`)
    }
  }
  const files = readdirSync(out)
  t.ok(files.some((f) => f.endsWith('.md')) && files.some((f) => f.endsWith('.jsonl')))
  const report = readFileSync(join(out, files.find((f) => f.endsWith('.md')) as string), 'utf8')
  t.match(report, /\| throughput, 1 constellation \| tasksPerSec \|/)
  t.match(report, /## Targets\n/)
  t.match(report, /\| light load, 100 tasks\/s \| cpuMicrosPerTask real \/ baseline ≤ 1\.15x \| .* \| [✓✗] \|/)
})
