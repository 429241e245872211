import { spawnSync } from 'node:child_process'
import { test } from 'tap'
import { runContinuity } from '../src/continuity/run.js'
import { AIP_BIN } from '../src/fleet/processes.js'
import { resolveSeed } from '../src/seed.js'

// The run needs `aip serve --resume-window` (the server side of the continuity extension).
const help = spawnSync(process.execPath, [AIP_BIN, 'serve', '--help'], { encoding: 'utf8' })
const skip = `${help.stdout}${help.stderr}`.includes('--resume-window') ? false : 'aip serve has no --resume-window option'

test('long tasks on real device processes complete exactly once while their links are cut again and again within the resume window', { skip }, async (t) => {
  const seed = resolveSeed([], process.env)
  const report = await runContinuity({
    seed,
    durationMs: 15_000,
    devices: 3,
    resumeWindowMs: 10_000,
    cutEveryMs: 1000,
    cutMinMs: 200,
    cutMaxMs: 2000,
    maxSteps: 3,
    stepMinMs: 300,
    stepMaxMs: 800,
    taskTimeoutMs: 45_000,
    deviceRestarts: 1,
    abortShare: 0.15
  })
  t.comment(report.text)
  t.same(report.violations, [], `every invariant holds (replay with AIP_SEED=${seed})`)
  t.ok(report.counts.outages > 0 && report.counts.cuts > 0, 'links were cut')
  t.ok(report.counts.hitWithinWindow > 0, 'some tasks were hit by a cut and had to survive it')
  t.equal(report.counts.duplicates, 0, 'no call ran twice on a device')
})
