/** A seeded PRNG (mulberry32): every fault schedule is reproducible from the printed seed. */
export type Random = () => number

export function prng (seed: number): Random {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

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
