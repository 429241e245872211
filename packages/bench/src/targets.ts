import { median, summarise, type ScenarioResult } from './report.js'

// The targets of the benchmark (issue "performance at the edges"). They are printed with ✓ or ✗ by the report,
// never asserted by a test: timing on a shared machine is not a pass/fail criterion.

/** A bound on the ratio real / baseline of one figure of the scenarios whose name starts with `scenario`. */
export interface RatioTarget {
  scenario: string
  figure: string
  max: number
}

export const RATIO_TARGETS: readonly RatioTarget[] = [
  { scenario: 'throughput, 1 constellation', figure: 'cpuMicrosPerTask', max: 1.15 },
  { scenario: 'throughput, 10 constellations', figure: 'cpuMicrosPerTask', max: 1.15 },
  { scenario: 'light load', figure: 'cpuMicrosPerTask', max: 1.15 },
  { scenario: 'light load', figure: 'p99Ms', max: 1.2 },
  { scenario: 'connect ', figure: 'cpuMicrosPerConnect', max: 1.15 },
  { scenario: 'connect ', figure: 'heapBytesPerDevice', max: 1.3 },
  // A cluster on Redis against the single-node in-memory real server (CPU of every node plus redis-server).
  { scenario: 'redis same-node', figure: 'cpuMicrosPerTask', max: 1.3 },
  { scenario: 'redis cross-node', figure: 'cpuMicrosPerTask', max: 2.5 },
  { scenario: 'redis registration', figure: 'cpuMicrosPerConnect', max: 1.5 },
  // What the server's own instruments cost: the real server with them against itself without them.
  { scenario: 'metrics on vs off', figure: 'cpuMicrosPerTask', max: 1.05 },
  { scenario: 'tracing on vs off', figure: 'cpuMicrosPerTask', max: 1.05 },
  { scenario: 'tracing sampled out vs off', figure: 'cpuMicrosPerTask', max: 1.05 }
]

/** Absolute goals of the scale scenario, on the real server, for `scaleDevices` devices. */
export interface ScaleGoals {
  scaleDevices: number
  maxRssMB: number
  maxSecondsToRegisterAll: number
  maxHeartbeatCoreShare: number
  /** The heartbeat interval the goal assumes (the reference device's). */
  heartbeatMs: number
}

export const SCALE_GOALS: ScaleGoals = { scaleDevices: 100_000, maxRssMB: 1536, maxSecondsToRegisterAll: 60, maxHeartbeatCoreShare: 0.10, heartbeatMs: 20_000 }

/** One line of the targets table. */
export interface TargetCheck {
  scenario: string
  target: string
  value: string
  perRepetition: string
  met: boolean
}

const x = (v: number): string => Number.isFinite(v) ? `${v.toFixed(2)}x` : 'n/a'

/** The figure counted in instructions that stands for a CPU-time figure: `cpuMicrosPerTask` → `instructionsPerTask`. */
export function countedFigure (figure: string): string | undefined {
  return figure.startsWith('cpuMicros') ? `instructions${figure.slice('cpuMicros'.length)}` : undefined
}

/**
 * Checks every ratio target that has a scenario in `results`, on the median ratio. A CPU-time target is checked on
 * the instruction counts of a run that has them instead (`--instructions`).
 */
export function checkRatioTargets (results: readonly ScenarioResult[]): TargetCheck[] {
  const checks: TargetCheck[] = []
  for (const result of results) {
    const rows = summarise(result)
    for (const target of RATIO_TARGETS) {
      if (!result.scenario.startsWith(target.scenario)) continue
      // A run under callgrind (`--instructions`) has instructions where the others have CPU time.
      const row = rows.find((r) => r.figure === target.figure) ?? rows.find((r) => r.figure === countedFigure(target.figure))
      if (row === undefined) continue
      const perRepetition = median(row.perRepetition)
      checks.push({
        scenario: result.scenario,
        target: `${row.figure} real / baseline ≤ ${target.max}x`,
        value: `${x(row.ratio)} (median of ratios ${x(perRepetition)})`,
        perRepetition: row.perRepetition.map(x).join(', '),
        met: row.ratio <= target.max
      })
    }
  }
  return checks
}

/**
 * Checks the scale goals on the real server's medians. When fewer devices ran than the goal's count (the open-file
 * limit caps them), memory is projected as idle + per device x count and time and CPU linearly: the line says so.
 */
export function checkScaleGoals (result: ScenarioResult, goals: ScaleGoals = SCALE_GOALS): TargetCheck[] {
  const real = (figure: string): number => median(result.repetitions.map((r) => r.real[figure] as number))
  const devices = real('devices')
  const factor = goals.scaleDevices / devices
  const projected = factor > 1 || real('heartbeatIntervalMs') !== goals.heartbeatMs
  const note = projected ? ` (measured with ${devices.toLocaleString('en-US')} devices, projected to ${goals.scaleDevices.toLocaleString('en-US')} at a ${goals.heartbeatMs / 1000} s heartbeat)` : ''
  const rss = real('rssMB') + (goals.scaleDevices - devices) * real('rssBytesPerDevice') / 2 ** 20
  const seconds = real('secondsToRegisterAll') * factor
  // Heartbeat CPU scales with the heartbeat rate: devices / interval.
  const share = real('heartbeatCpuCoreShare') * factor * real('heartbeatIntervalMs') / goals.heartbeatMs
  const notBack = Math.max(...result.repetitions.map((r) => r.real.notBack as number))
  const line = (target: string, value: string, met: boolean): TargetCheck => ({ scenario: result.scenario, target, value: value + note, perRepetition: '', met })
  return [
    line(`RSS < ${goals.maxRssMB} MB`, `${Math.round(rss)} MB`, rss < goals.maxRssMB),
    line(`all registered within ${goals.maxSecondsToRegisterAll} s`, `${seconds.toFixed(1)} s`, seconds <= goals.maxSecondsToRegisterAll),
    line(`heartbeat CPU < ${Math.round(goals.maxHeartbeatCoreShare * 100)} % of one core`, `${(share * 100).toFixed(1)} %`, share < goals.maxHeartbeatCoreShare),
    { scenario: result.scenario, target: 'every device registered again after the restart', value: `${notBack} not back`, perRepetition: '', met: notBack === 0 }
  ]
}

/** The targets as a Markdown table. */
export function targetsMarkdown (checks: readonly TargetCheck[]): string {
  if (checks.length === 0) return ''
  const lines = ['## Targets', '', '| scenario | target | value | per repetition | |', '|---|---|---|---|---|']
  for (const c of checks) lines.push(`| ${c.scenario} | ${c.target} | ${c.value} | ${c.perRepetition} | ${c.met ? '✓' : '✗'} |`)
  return lines.join('\n')
}
