import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'tap'

// No timing is asserted: only which scenarios ran and which profiles were written.
test('--only "^name" picks scenarios by the start of their name, and the window profiles cover each server once', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'aip-bench-window-'))
  t.teardown(() => rmSync(out, { recursive: true, force: true }))
  const profiles = join(out, 'profiles')
  const run = spawnSync(process.execPath, ['--expose-gc', join(import.meta.dirname, '..', 'dist', 'run.js'), '--quick', '--only', '^light,^throughput, N', '--out', out], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, AIP_BENCH_CPU_PROF_WINDOW: profiles }
  })
  t.equal(run.status, 0, run.stderr)
  const scenarios = run.stdout.split('\n').filter((line) => line.startsWith('{"scenario"') && line.includes('"repetition"'))
    .map((line) => (JSON.parse(line) as { scenario: string }).scenario)
  t.same(scenarios, ['light load, 100 tasks/s', 'light load, 100 tasks/s, side by side'], 'only the light-load scenarios: no name starts with "throughput, N"')
  const written = readdirSync(profiles).sort()
  // Each scenario starts its own pair of servers (the side-by-side one both at once).
  t.equal(written.length, 4, `one profile per server process (${written.join(', ')})`)
  t.match(written, [/^CPU-window\.baseline\.\d+\.cpuprofile$/, /^CPU-window\.baseline\.\d+\.cpuprofile$/, /^CPU-window\.real\.\d+\.cpuprofile$/, /^CPU-window\.real\.\d+\.cpuprofile$/])
  for (const file of written) {
    const profile = JSON.parse(readFileSync(join(profiles, file), 'utf8')) as { nodes: unknown[], samples: unknown[] }
    t.ok(profile.nodes.length > 0 && profile.samples.length > 0, `${file} holds samples`)
  }
})
