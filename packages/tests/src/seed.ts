import { prng, type Random } from '@aip/test-support'

export type { Random }

/** The seed of a run: `--seed n`, else `AIP_SEED`, else a fresh random one. */
export function resolveSeed (argv: readonly string[] = process.argv, env: NodeJS.ProcessEnv = process.env): number {
  const index = argv.indexOf('--seed')
  const raw = index !== -1 ? argv[index + 1] : env.AIP_SEED
  if (raw !== undefined && raw !== '') {
    const seed = Number(raw)
    if (!Number.isInteger(seed) || seed < 0) throw new Error(`invalid seed: ${raw}`)
    return seed
  }
  return Math.floor(Math.random() * 2 ** 31)
}

/** Helpers bound to one generator. */
export class Rng {
  readonly next: Random
  constructor (seed: number) { this.next = prng(seed) }
  int (n: number): number { return Math.floor(this.next() * n) }
  between (min: number, max: number): number { return min + this.int(max - min + 1) }
  chance (p: number): boolean { return this.next() < p }
  pick<T>(items: readonly T[]): T { return items[this.int(items.length)] as T }
}
