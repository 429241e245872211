import { InvalidArgumentError, InvalidOptionError, MAX_TIMER_MS, type Logger } from '@aip/resilience'

export { MAX_TIMER_MS }

function describe (value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value)
  return typeof value
}

/** An integer in [min, max], or `fallback` when `value` is undefined; throws the coded option error otherwise. */
export function integerOption (name: string, value: unknown, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(name, `an integer from ${min} to ${max}`, describe(value))
  }
  return value
}

/** A logger with the four pino methods, or `fallback`. */
export function loggerOption (value: unknown, fallback: Logger): Logger {
  if (value === undefined) return fallback
  const candidate = value as Partial<Record<'debug' | 'info' | 'warn' | 'error', unknown>> | null
  if (typeof candidate !== 'object' || candidate === null ||
    typeof candidate.debug !== 'function' || typeof candidate.info !== 'function' ||
    typeof candidate.warn !== 'function' || typeof candidate.error !== 'function') {
    throw new InvalidOptionError('logger', 'an object with debug, info, warn and error methods', describe(value))
  }
  return value as Logger
}

/** A per-call timeout: undefined (none, or the default) or a finite number of ms in (0, MAX_TIMER_MS]. */
export function timeoutArgument (name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > MAX_TIMER_MS) {
    throw new InvalidArgumentError(name, `a number of ms from 1 to ${MAX_TIMER_MS}`, describe(value))
  }
  return value
}
