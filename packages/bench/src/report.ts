import type { Figures } from './scenarios.js'

/** One scenario's results: per repetition, the figures of both servers and their ratios. */
export interface ScenarioResult {
  scenario: string
  repetitions: Array<{ real: Figures, baseline: Figures }>
}

export function median (values: readonly number[]): number {
  const sorted = [...values].filter((v) => Number.isFinite(v)).sort((a, b) => a - b)
  if (sorted.length === 0) return Number.NaN
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid] as number : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

/** Medians of each figure for both servers, the ratio of the medians and the ratio per repetition. */
export function summarise (result: ScenarioResult): Array<{ figure: string, real: number, baseline: number, ratio: number, perRepetition: number[] }> {
  const names = Object.keys(result.repetitions[0]?.real ?? {})
  return names.map((figure) => {
    const real = median(result.repetitions.map((r) => r.real[figure] as number))
    const baseline = median(result.repetitions.map((r) => r.baseline[figure] as number))
    return {
      figure,
      real,
      baseline,
      ratio: real / baseline,
      perRepetition: result.repetitions.map((r) => (r.real[figure] as number) / (r.baseline[figure] as number))
    }
  })
}

/** A ratio, `n/a` when it has no meaning (0 / 0, as for failed tasks). */
function ratio (value: number): string {
  return Number.isFinite(value) ? `${fmt(value)}x` : 'n/a'
}

function fmt (value: number): string {
  if (!Number.isFinite(value)) return 'n/a'
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US')
  return value.toFixed(2)
}

export function markdown (results: readonly ScenarioResult[], header: string): string {
  const lines = [header, '', '| scenario | figure | real (median) | baseline (median) | real / baseline | per repetition |', '|---|---|---:|---:|---:|---|']
  for (const result of results) {
    for (const row of summarise(result)) {
      lines.push(`| ${result.scenario} | ${row.figure} | ${fmt(row.real)} | ${fmt(row.baseline)} | ${ratio(row.ratio)} | ${row.perRepetition.map(ratio).join(', ')} |`)
    }
  }
  return lines.join('\n')
}
