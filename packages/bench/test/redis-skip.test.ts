import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'tap'

// Where redis-server cannot be run, the Redis scenarios are left out of the run, which says so and still succeeds.
test('the Redis scenarios are skipped with a line on stderr where redis-server is missing', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'aip-bench-'))
  const empty = mkdtempSync(join(tmpdir(), 'aip-bench-path-'))
  t.teardown(() => {
    rmSync(out, { recursive: true, force: true })
    rmSync(empty, { recursive: true, force: true })
  })
  // An empty PATH: no redis-server to be found (node itself is run by its absolute path).
  const run = spawnSync(process.execPath, ['--expose-gc', join(import.meta.dirname, '..', 'dist', 'run.js'), '--only', 'redis', '--out', out], {
    encoding: 'utf8', timeout: 60_000, env: { ...process.env, PATH: empty }
  })
  t.equal(run.status, 0, run.stderr)
  t.match(run.stderr, /redis scenarios skipped: redis-server is not installed/)
  const scenarios = run.stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line).scenario)
  t.same(scenarios.filter((name) => name !== undefined), [], 'no Redis scenario ran')
})
