/** Plain-text reports: one `key=value` header line, then aligned tables. */

export function table (title: string, rows: Record<string, number | string>): string {
  const keys = Object.keys(rows)
  const width = Math.max(0, ...keys.map((k) => k.length))
  return [`${title}:`, ...keys.map((k) => `  ${k.padEnd(width)}  ${String(rows[k])}`)].join('\n')
}

export function verdict (violations: readonly string[]): string {
  if (violations.length === 0) return 'RESULT: PASS (every invariant held)'
  return [`RESULT: FAIL (${violations.length} violation${violations.length === 1 ? '' : 's'})`, ...violations.map((v) => `  - ${v}`)].join('\n')
}

/** Numeric options from `--name value` arguments. */
/** Writes one line of a suite's report to stdout. */
export function print (line: string): void {
  process.stdout.write(`${line}\n`)
}

export function numberArg (name: string, fallback: number, argv: readonly string[] = process.argv): number {
  const index = argv.indexOf(`--${name}`)
  if (index === -1) return fallback
  const value = Number(argv[index + 1])
  if (!Number.isFinite(value) || value < 0) throw new Error(`invalid --${name}: ${String(argv[index + 1])}`)
  return value
}

export function mib (bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * `promise`'s value, or `fallback` when it has not settled within `ms`. The timer is cleared as soon as `promise`
 * settles, so a long bound never keeps the process alive after the work is done.
 */
export async function within<T, F> (promise: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([promise, new Promise<F>((resolve) => { timer = setTimeout(() => resolve(fallback), ms) })])
  } finally {
    clearTimeout(timer)
  }
}

/** Least-squares slope of y over x. */
export function slope (points: ReadonlyArray<readonly [number, number]>): number {
  const n = points.length
  if (n < 2) return 0
  let sx = 0; let sy = 0; let sxx = 0; let sxy = 0
  for (const [x, y] of points) { sx += x; sy += y; sxx += x * x; sxy += x * y }
  const den = n * sxx - sx * sx
  return den === 0 ? 0 : (n * sxy - sx * sy) / den
}

/** A full GC when the process runs with --expose-gc; false otherwise. */
export function collectGarbage (): boolean {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) return false
  gc()
  return true
}
