import t from 'tap'
import { prng } from '../src/index.js'

t.test('prng: one seed gives one sequence, in [0, 1); another seed another', async (t) => {
  const take = (seed: number): number[] => { const next = prng(seed); return Array.from({ length: 1000 }, () => next()) }
  const a = take(42)
  t.same(take(42), a, 'reproducible from the seed')
  t.notSame(take(43), a)
  t.ok(a.every((x) => x >= 0 && x < 1), 'every value in [0, 1)')
  const mean = a.reduce((sum, x) => sum + x, 0) / a.length
  t.ok(mean > 0.45 && mean < 0.55, `spread evenly (mean ${mean.toFixed(3)})`)
})
