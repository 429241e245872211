import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { test } from 'tap'
import { redisServerMissing } from '../src/redis.js'

// From dist, built before the tests run (`tsc -b && tap`): the worker process starts the built
// `redis-floor-worker.js` beside the module. Named by a variable so that a typecheck before any build does not look
// for it.
const floorModule = '../dist/redis-floor.js'
const { FLOOR_MEASURES, floorMarkdown, measureFloor } = await import(floorModule) as typeof import('../src/redis-floor.js')

// `redis-floor` measures what the least a node does with Redis for a task costs: a real redis-server and a real
// worker process, each operation alone. Timed here (the counted run needs valgrind and minutes).

const missing = redisServerMissing()

test('every floor measure runs in the worker and is reported per operation', { skip: missing ?? false, timeout: 120_000 }, async (t) => {
  const figures = await measureFloor({ instructions: false, ops: 40, warmup: 40, paceMs: 2 })
  t.same(figures.map((f) => f.measure), FLOOR_MEASURES, 'each measure, in order')
  for (const figure of figures) {
    t.equal(figure.ops, 40)
    t.ok(figure.perOp > 0, `${figure.measure}: CPU per operation (${figure.perOp.toFixed(1)} µs)`)
    t.equal(figure.redisPerOp, undefined, 'no redis-server count without callgrind')
  }
  const [turn, ...others] = figures
  t.equal(turn?.adds, 0, 'the turn adds nothing to itself')
  for (const figure of others) {
    if (figure.measure.endsWith('received')) t.equal(figure.adds, figure.perOp, `${figure.measure}: all of it added (it wakes the process)`)
    else t.equal(figure.adds, figure.perOp - (turn?.perOp ?? 0), `${figure.measure}: the turn's cost taken off`)
  }
  const table = floorMarkdown(figures, false)
  for (const measure of FLOOR_MEASURES) t.match(table, `| ${measure} |`)
})

test('redis-floor refuses options it does not know, with its usage', async (t) => {
  const run = spawnSync(process.execPath, [join(import.meta.dirname, '..', 'dist', 'redis-floor.js'), '--ops', '0'], { encoding: 'utf8', timeout: 30_000 })
  t.equal(run.status, 2)
  t.match(run.stderr, /usage: redis-floor/)
  const unknown = spawnSync(process.execPath, [join(import.meta.dirname, '..', 'dist', 'redis-floor.js'), '--fast'], { encoding: 'utf8', timeout: 30_000 })
  t.equal(unknown.status, 2)
  t.match(unknown.stderr, /usage: redis-floor/)
})
