import { test } from 'tap'
import type { ScenarioResult } from '../src/report.js'
import { checkRatioTargets, checkScaleGoals, countedFigure, targetsMarkdown } from '../src/targets.js'

const repetition = (real: Record<string, number>, baseline: Record<string, number>): ScenarioResult['repetitions'][number] => ({ real, baseline })

test('a ratio target is met when the median ratio is within its bound, and missed otherwise', async (t) => {
  const results: ScenarioResult[] = [
    { scenario: 'throughput, 1 constellation', repetitions: [repetition({ cpuMicrosPerTask: 110 }, { cpuMicrosPerTask: 100 }), repetition({ cpuMicrosPerTask: 112 }, { cpuMicrosPerTask: 100 })] },
    { scenario: 'light load, 500 tasks/s', repetitions: [repetition({ cpuMicrosPerTask: 130, p99Ms: 1 }, { cpuMicrosPerTask: 100, p99Ms: 1 })] },
    { scenario: 'latency at 2000 tasks/s', repetitions: [repetition({ cpuMicrosPerTask: 300 }, { cpuMicrosPerTask: 100 })] }
  ]
  const checks = checkRatioTargets(results)
  const find = (scenario: string, figure: string) => checks.find((c) => c.scenario.startsWith(scenario) && c.target.startsWith(figure))
  t.equal(find('throughput', 'cpuMicrosPerTask')?.met, true)
  t.equal(find('light load', 'cpuMicrosPerTask')?.met, false)
  t.equal(find('light load', 'p99Ms')?.met, true)
  t.notOk(checks.some((c) => c.scenario.startsWith('latency')), 'a scenario without a target is not checked')
  t.match(targetsMarkdown(checks), /\| light load, 500 tasks\/s \| cpuMicrosPerTask real \/ baseline ≤ 1\.15x \| 1\.30x .*\| ✗ \|/)
  t.equal(targetsMarkdown([]), '')
})

test('the scale goals are projected to their device count and heartbeat interval when fewer ran', async (t) => {
  const real = { devices: 10_000, heartbeatIntervalMs: 1000, rssMB: 200, rssBytesPerDevice: 10_000, secondsToRegisterAll: 5, heartbeatCpuCoreShare: 0.01, notBack: 0 }
  const checks = checkScaleGoals({ scenario: 'scale on one node, 10000 devices', repetitions: [repetition(real, real)] })
  const rss = checks.find((c) => c.target.startsWith('RSS'))
  // 200 MB + 90,000 more devices x 10,000 bytes
  t.match(rss?.value, `${Math.round(200 + 90_000 * 10_000 / 2 ** 20)} MB`)
  t.match(rss?.value, /projected to 100,000/)
  t.equal(rss?.met, true)
  t.match(checks.find((c) => c.target.startsWith('all registered'))?.value, /^50\.0 s/)
  // 1 % at 10,000 devices every second is 10 % at 100,000 devices every second, 0.5 % every 20 s.
  t.match(checks.find((c) => c.target.startsWith('heartbeat CPU'))?.value, /^0\.5 %/)
  t.equal(checks.find((c) => c.target.startsWith('every device'))?.met, true)
})

test('a scale run with a device not back misses the restart goal', async (t) => {
  const real = { devices: 100_000, heartbeatIntervalMs: 20_000, rssMB: 1000, rssBytesPerDevice: 9000, secondsToRegisterAll: 70, heartbeatCpuCoreShare: 0.05, notBack: 3 }
  const checks = checkScaleGoals({ scenario: 'scale on one node, 100000 devices', repetitions: [repetition(real, real)] })
  t.notMatch(checks[0]?.value, /projected/, 'nothing is projected at the full count and interval')
  t.equal(checks.find((c) => c.target.startsWith('all registered'))?.met, false)
  t.equal(checks.find((c) => c.target.startsWith('every device'))?.met, false)
})

test('a run counted in instructions is checked against the CPU targets on its instruction figures', async (t) => {
  const results: ScenarioResult[] = [
    { scenario: 'throughput, 1 constellation', repetitions: [repetition({ instructionsPerTask: 1_100_000 }, { instructionsPerTask: 1_000_000 })] },
    { scenario: 'connect 2000 devices', repetitions: [repetition({ instructionsPerConnect: 1_300_000, heapBytesPerDevice: 4000 }, { instructionsPerConnect: 1_000_000, heapBytesPerDevice: 3500 })] }
  ]
  const checks = checkRatioTargets(results)
  t.same(checks.map((c) => [c.scenario, c.target, c.met]), [
    ['throughput, 1 constellation', 'instructionsPerTask real / baseline ≤ 1.15x', true],
    ['connect 2000 devices', 'instructionsPerConnect real / baseline ≤ 1.15x', false],
    ['connect 2000 devices', 'heapBytesPerDevice real / baseline ≤ 1.3x', true]
  ])
  t.equal(countedFigure('cpuMicrosPerTask'), 'instructionsPerTask')
  t.equal(countedFigure('p99Ms'), undefined, 'a latency has no instruction figure')
})
