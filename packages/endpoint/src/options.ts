import { InvalidArgumentError, MAX_TIMER_MS, describeValue } from '@aip/resilience'

/** A per-call timeout: undefined (none, or the default) or a finite number of ms in (0, MAX_TIMER_MS]. */
export function timeoutArgument (name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > MAX_TIMER_MS) {
    throw new InvalidArgumentError(name, `a number of ms from 1 to ${MAX_TIMER_MS}`, describeValue(value))
  }
  return value
}
