import { test } from 'tap'
import { run } from '../src/soak/run.js'
import { resolveSeed } from '../src/seed.js'

test('soak (reduced): 100 devices heartbeating and running tasks for 15 s, no registry beyond its bound, flat heap', async (t) => {
  const seed = resolveSeed([])
  t.comment(`seed=${seed} (replay with AIP_SEED=${seed})`)
  const report = await run({ seed, devices: 100, durationMs: 15_000, taskEveryMs: 1000, heartbeatIntervalMs: 1000, sampleEveryMs: 500, maxResults: 100 })
  t.comment(report.text)
  t.same(report.violations, [], 'no violation')
  t.ok((report.tasks.completed ?? 0) > 100, 'tasks ran throughout')
  t.ok(report.samples.every((s) => s.results <= 100 && s.clients <= 100), 'every registry within its bound')
})
