import { test } from 'tap'
import { paced } from '../src/load.js'

// The counted light load relies on this: however slow the server (callgrind, a busy machine), two tasks never meet.
test('paced runs its work one at a time, as many times as asked, even when a run outlasts the interval', async (t) => {
  let running = 0
  let most = 0
  let runs = 0
  await paced(12, 1, async () => {
    running++
    runs++
    most = Math.max(most, running)
    // Every third run takes longer than the interval: the next one still waits for it.
    await new Promise((resolve) => runs % 3 === 0 ? setTimeout(resolve, 3) : setImmediate(resolve))
    running--
  })
  t.equal(runs, 12)
  t.equal(most, 1, 'never two runs at once')
})

test('paced keeps to the schedule: a run does not start before its turn', async (t) => {
  const starts: number[] = []
  const begin = performance.now()
  await paced(4, 20, async () => { starts.push(performance.now() - begin) })
  // Each start is at or after i * 20 ms; nothing is asserted about how late.
  starts.forEach((at, i) => { t.ok(at >= i * 20, `run ${i} started at ${at.toFixed(1)} ms, not before ${i * 20} ms`) })
})

test('paced rejects as soon as a run rejects, and runs no more', async (t) => {
  let runs = 0
  await t.rejects(paced(5, 0, async () => {
    runs++
    if (runs === 2) throw new Error('task failed')
  }), /task failed/)
  t.equal(runs, 2)
})
