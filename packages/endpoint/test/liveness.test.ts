import t from 'tap'
import { Clock } from '@tapjs/clock'
import { Liveness } from '../src/liveness.js'

function useClock (t: { teardown: (fn: () => void) => void }): Clock {
  const clock = new Clock()
  clock.enter()
  t.teardown(() => { clock.exit() })
  return clock
}

/** Advances the fake clock 1 ms at a time (it fires due timers only at the end of each advance). */
function walk (clock: Clock, ms: number): void {
  for (let i = 0; i < ms; i++) clock.advance(1)
}

t.test('a liveness ticks every interval while the peer is heard from', async (t) => {
  const clock = useClock(t)
  const events: string[] = []
  const liveness = new Liveness({
    intervalMs: 100,
    deadAfterMs: 250,
    onTick: () => events.push(`tick ${clock.now()}`),
    onDead: () => events.push('dead')
  })
  t.teardown(() => liveness.stop())
  const start = clock.now()
  for (let step = 1; step <= 5; step++) {
    clock.advance(100)
    liveness.touch()
  }
  t.same(events, [100, 200, 300, 400, 500].map((ms) => `tick ${start + ms}`))
  t.equal(liveness.running, true)
})

t.test('a silent peer is declared dead once, after deadAfterMs, and the timer stops', async (t) => {
  const clock = useClock(t)
  const dead: number[] = []
  let ticks = 0
  const liveness = new Liveness({ intervalMs: 100, deadAfterMs: 250, onTick: () => { ticks++ }, onDead: (ms) => dead.push(ms) })
  walk(clock, 249)
  t.same(dead, [])
  walk(clock, 1)
  t.same(dead, [250])
  t.equal(ticks, 2)
  t.equal(liveness.running, false)
  walk(clock, 1000)
  t.same(dead, [250])
  t.equal(ticks, 2)
})

t.test('touch moves the dead line; stop ends every callback', async (t) => {
  const clock = useClock(t)
  const dead: number[] = []
  const liveness = new Liveness({ intervalMs: 1000, deadAfterMs: 300, onDead: (ms) => dead.push(ms) })
  walk(clock, 200)
  liveness.touch()
  walk(clock, 200)
  t.same(dead, [])
  t.equal(liveness.silentForMs, 200)
  walk(clock, 100)
  t.same(dead, [300])
  const stopped = new Liveness({ intervalMs: 10, onTick: () => dead.push(-1) })
  stopped.stop()
  stopped.stop()
  walk(clock, 100)
  t.same(dead, [300])
})

t.test('a tick that stops the liveness is its last', async (t) => {
  const clock = useClock(t)
  let ticks = 0
  const liveness: Liveness = new Liveness({ intervalMs: 10, onTick: () => { ticks++; liveness.stop() } })
  walk(clock, 100)
  t.equal(ticks, 1)
})

t.test('bad options are refused with the invalid-option code naming the option', async (t) => {
  t.throws(() => new Liveness({ intervalMs: 0 }), { code: 'AIP_ERR_INVALID_OPTION', option: 'liveness.intervalMs' })
  t.throws(() => new Liveness({ intervalMs: 10, deadAfterMs: 2 ** 31 }), { code: 'AIP_ERR_INVALID_OPTION', option: 'liveness.deadAfterMs' })
  t.throws(() => new Liveness({ intervalMs: 10, onDead: 3 as never }), { code: 'AIP_ERR_INVALID_OPTION', option: 'liveness.onDead' })
})
