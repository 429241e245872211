import { test } from 'tap'
import { runFleet } from '../src/fleet/run.js'
import { resolveSeed } from '../src/seed.js'

test('a fleet of real processes under cuts, device kills and server kills is whole again and completes every task after', async (t) => {
  const seed = resolveSeed([], process.env)
  const report = await runFleet({
    seed,
    durationMs: 12_000,
    devices: 4,
    cutEveryMs: 1000,
    killEveryMs: 4000,
    serverKills: 1,
    taskEveryMs: 150,
    recoveryBoundMs: 30_000,
    finalTasks: 12
  })
  t.comment(report.text)
  t.same(report.violations, [], `every invariant holds (replay with AIP_SEED=${seed})`)
  t.ok(report.faults.cuts > 0 && report.faults.deviceKills > 0 && report.faults.serverKills === 1, 'every kind of fault was injected')
})
