import { setImmediate as realSetImmediate } from 'node:timers/promises'
import { Clock } from '@tapjs/clock'
import type { Timer } from '@tapjs/clock'
import type { Logger } from '../src/index.js'

/** Enters a fake clock for one test and exits it on teardown. */
export function useClock (t: { teardown: (fn: () => void) => void }): Clock {
  const clock = new Clock()
  clock.enter()
  t.teardown(() => { clock.exit() })
  return clock
}

/** Timers of the fake clock that are still scheduled (cleared ones have no callback left). */
export function pendingTimers (clock: Clock): Timer[] {
  return [...clock.timers.values()].flat().filter((timer) => timer._onTimeout !== null)
}

/** Lets pending promise callbacks run, with a real (not faked) macrotask turn. */
export function tick (): Promise<void> {
  return realSetImmediate()
}

/**
 * Lets `promise` run to its end on the fake clock: jumps to the next scheduled timer, lets callbacks run,
 * and repeats, at most `maxSteps` times. Returns the promise itself (for `t.rejects` or `await`).
 */
export async function drive<T> (clock: Clock, promise: Promise<T>, maxSteps = 1000): Promise<T> {
  const state = { settled: false }
  promise.then(() => { state.settled = true }, () => { state.settled = true })
  await tick()
  for (let step = 0; step < maxSteps && !state.settled; step++) {
    const next = Math.min(...pendingTimers(clock).map((timer) => timer.w))
    if (next === Infinity) break
    clock.advance(Math.max(0, next - clock.now()))
    await tick()
  }
  return promise
}

/** A deterministic random source in [0, 1) (mulberry32). */
export function seededRandom (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let r = Math.imul(a ^ (a >>> 15), 1 | a)
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296
  }
}

/** One call to a {@link recordingLogger}. */
export interface LogRecord {
  level: keyof Logger
  obj: object
  msg: string | undefined
}

/** A pino-shaped logger that keeps what it is given. */
export function recordingLogger (): Logger & { records: LogRecord[] } {
  const records: LogRecord[] = []
  const at = (level: keyof Logger) => (obj: object, msg?: string) => { records.push({ level, obj, msg }) }
  return { records, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
}
