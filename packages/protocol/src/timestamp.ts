import { performance } from 'node:perf_hooks'

function pad (value: number, width: number): string {
  return String(value).padStart(width, '0')
}

/**
 * Formats a point in time the way the reference writes `timestamp` (Python `datetime.isoformat()` in UTC):
 * `2026-11-23T23:12:09.896517+00:00`. The fraction has six digits and is left out when it is zero, as Python
 * does.
 *
 * @param epochMicros microseconds since the Unix epoch
 */
export function formatTimestamp (epochMicros: number): string {
  const micros = Math.floor(epochMicros)
  const fraction = ((micros % 1_000_000) + 1_000_000) % 1_000_000
  const second = (micros - fraction) / 1_000_000
  // Messages come in bursts within one second: its date-time part is formatted once.
  if (second !== cachedSecond) {
    const date = new Date(second * 1000)
    cachedBase = `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)}` +
      `T${pad(date.getUTCHours(), 2)}:${pad(date.getUTCMinutes(), 2)}:${pad(date.getUTCSeconds(), 2)}`
    cachedSecond = second
  }
  return fraction === 0 ? `${cachedBase}+00:00` : `${cachedBase}.${pad(fraction, 6)}+00:00`
}

let cachedSecond = Number.NaN
let cachedBase = ''

/** Microseconds since the Unix epoch, with sub-millisecond precision from the monotonic clock. */
export function epochMicros (): number {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000)
}

/** The current time in the reference `timestamp` form. */
export function timestamp (): string {
  return formatTimestamp(epochMicros())
}
