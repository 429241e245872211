import { test } from 'tap'
import { run } from '../src/security/run.js'

test('security probes: each refused, none affecting a bystander device', async (t) => {
  const report = await run()
  t.comment(report.text)
  for (const probe of report.probes) t.ok(probe.refused, `${probe.name}: ${probe.detail}`)
  t.ok(report.probes.length >= 12, 'every probe ran')
  t.equal(report.bystander.disconnects, 0, 'the bystander stayed connected')
  t.equal(report.bystander.finalTask, 'completed', 'the bystander still runs tasks')
})
