import type { Logger } from '@aip/resilience'

export { silentLogger, type Logger, type LogFn } from '@aip/resilience'

/** `logger.child(bindings)` when the logger has it (pino, Fastify), the logger itself otherwise. */
export function childLogger (logger: Logger, bindings: Record<string, unknown>): Logger {
  const child = (logger as Logger & { child?: (bindings: Record<string, unknown>) => Logger }).child
  return typeof child === 'function' ? child.call(logger, bindings) : logger
}

/** Level methods already looked at: whether each does nothing. */
const quiet = new WeakMap<object, boolean>()

/** An empty function taking nothing, as source text: `function noop () { }`, `() => {}`. */
const EMPTY_FUNCTION = /^(?:function\s*[\w$]*\s*\(\s*\)|\(\s*\)\s*=>)\s*\{\s*\}$/

/** True when `fn` is a function whose body is empty (its source is read once per function). */
function doesNothing (fn: unknown): boolean {
  if (typeof fn !== 'function') return true
  let known = quiet.get(fn)
  if (known === undefined) {
    known = EMPTY_FUNCTION.test(Function.prototype.toString.call(fn))
    quiet.set(fn, known)
  }
  return known
}

/**
 * Would `logger` write a line at `level`? Asked before building the fields of a line logged for every task. False
 * when the level's method does nothing (the silent logger; Fastify's `logger: false` logger, whose methods are all
 * one empty function) or when the logger's `isLevelEnabled` (pino's) says no; true otherwise.
 */
export function logsAt (logger: Logger, level: 'debug' | 'info' | 'warn' | 'error'): boolean {
  if (doesNothing(logger[level])) return false
  const isLevelEnabled = (logger as Logger & { isLevelEnabled?: unknown }).isLevelEnabled
  return typeof isLevelEnabled === 'function' ? (isLevelEnabled as (level: string) => boolean).call(logger, level) === true : true
}
