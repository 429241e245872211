import { test } from 'tap'
import { run } from '../src/fuzz/run.js'
import { resolveSeed } from '../src/seed.js'

test('fuzz (reduced): 20,000 hostile frames against /ws', async (t) => {
  const seed = resolveSeed([])
  t.comment(`seed=${seed} (replay with AIP_SEED=${seed})`)
  const report = await run({ seed, frames: 20_000, workers: 6, trickles: 6 })
  t.comment(report.text)
  t.same(report.violations, [], 'no violation')
  t.equal(report.server?.uncaught, 0, 'no uncaught exception in the server')
  t.equal(report.server?.unhandled, 0, 'no unhandled rejection in the server')
  t.equal(report.control.missed, 0, 'the control client kept working')
  t.ok(report.rssAfter <= report.rssBefore * 1.1, 'server RSS within 10 % of before')
  t.ok((report.outcomes.answeredCorrelated ?? 0) > 0, 'ERRORs were correlated')
})
