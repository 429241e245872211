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
  const date = new Date((micros - fraction) / 1000)
  const base = `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)}` +
    `T${pad(date.getUTCHours(), 2)}:${pad(date.getUTCMinutes(), 2)}:${pad(date.getUTCSeconds(), 2)}`
  return fraction === 0 ? `${base}+00:00` : `${base}.${pad(fraction, 6)}+00:00`
}

/** Microseconds since the Unix epoch, with sub-millisecond precision from the monotonic clock. */
export function epochMicros (): number {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000)
}

/** The current time in the reference `timestamp` form. */
export function timestamp (): string {
  return formatTimestamp(epochMicros())
}
