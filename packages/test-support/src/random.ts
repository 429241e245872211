/** A random number generator returning values in [0, 1). */
export type Random = () => number

/**
 * A small seeded PRNG (mulberry32): a randomised test or suite run is reproducible from the seed it prints.
 * Not for anything that needs unpredictability.
 */
export function prng (seed: number): Random {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}
