import { test } from 'tap'
import { run } from '../src/chaos/run.js'
import { resolveSeed } from '../src/seed.js'

test('chaos (reduced): every task reaches exactly one terminal state through cuts, stalls, kills and restarts', async (t) => {
  const seed = resolveSeed([])
  t.comment(`seed=${seed} (replay with AIP_SEED=${seed})`)
  const report = await run({ seed, tasks: 300, devices: 6, constellations: 2, faultRate: 0.05, serverRestarts: 1, taskTimeoutMs: 6000 })
  t.comment(report.text)
  t.equal(report.submitted, 300, 'every task was submitted')
  t.equal(report.lost, 0, 'none lost')
  t.equal(report.duplicated, 0, 'none duplicated')
  t.equal(report.pendingAtConstellations, 0, 'nothing pending at the constellations')
  t.equal(report.pendingAtServer, 0, 'nothing pending at the server')
  t.same(report.violations, [], 'no violation')
  t.equal(Object.values(report.terminal).reduce((a, b) => a + b, 0), 300, 'the terminal states add up')
  t.ok(report.faults.serverRestart === 1, 'the server restarted')
})
