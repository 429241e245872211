import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { test } from 'tap'

test('npm run demo: every step of the workflow completes, the summary lists them, and it exits 0', async (t) => {
  const run = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '..', 'src', 'main.ts')], { encoding: 'utf8', timeout: 60_000 })
  t.equal(run.status, 0, run.stderr)
  t.match(run.stdout, /constellation connected to 3 devices/)
  for (const step of ['run tests', 'open the release app', 'check the calendar', 'fingerprint the build', 'write the release note', 'notify the team']) {
    t.match(run.stdout, new RegExp(`^${step} +\\S+ +completed +\\d+ ms +\\d+ ms$`, 'm'), step)
  }
  t.match(run.stdout, /6 of 6 tasks completed\n$/)
  // Independent steps overlap: the three first steps start before any of them is done.
  const starts = [...run.stdout.matchAll(/^ *(\d+) ms {2}start/gm)].map((m) => Number(m[1]))
  const firstDone = Number(/^ *(\d+) ms {2}done/m.exec(run.stdout)?.[1])
  t.ok(starts.slice(0, 3).every((ms) => ms < firstDone), 'the independent steps run in parallel')
})
