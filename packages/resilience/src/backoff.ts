/**
 * How the delay before each reconnection attempt grows. The values are the reference's (`aip.resilience`).
 *
 * - `EXPONENTIAL_BACKOFF`: `initialBackoffMs × backoffMultiplier^(attempt − 1)`, capped at `maxBackoffMs`
 * - `LINEAR_BACKOFF`: `initialBackoffMs × attempt`, capped at `maxBackoffMs`
 * - `IMMEDIATE`: no delay
 * - `NONE`: no reconnection at all
 */
export const ReconnectionPolicy = Object.freeze({
  EXPONENTIAL_BACKOFF: 'exponential_backoff',
  LINEAR_BACKOFF: 'linear_backoff',
  IMMEDIATE: 'immediate',
  NONE: 'none'
} as const)

/**
 * One of the {@link ReconnectionPolicy} values.
 */
export type ReconnectionPolicy = typeof ReconnectionPolicy[keyof typeof ReconnectionPolicy]

/**
 * The inputs of {@link computeBackoffMs}.
 */
export interface BackoffOptions {
  policy: ReconnectionPolicy
  initialBackoffMs: number
  maxBackoffMs: number
  backoffMultiplier: number
  jitter: boolean
}

/**
 * The delay before reconnection attempt `attempt` (1 for the first), in whole milliseconds.
 * A pure function of its arguments: the same attempt and the same `random` give the same delay.
 *
 * Without jitter it is the policy's deterministic value, capped at `maxBackoffMs`. With jitter it is
 * "full jitter": `floor(random() × cap)`, uniform in `[0, cap)`, where `cap` is that deterministic value.
 * `IMMEDIATE` and `NONE` give 0.
 *
 * @param attempt - the attempt number, an integer >= 1 (the caller validates it)
 * @param options - policy and backoff parameters
 * @param random - a source of numbers in `[0, 1)`, only called when `options.jitter` is true
 */
export function computeBackoffMs (attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const { policy, initialBackoffMs, maxBackoffMs, backoffMultiplier, jitter } = options
  let base: number
  if (policy === ReconnectionPolicy.EXPONENTIAL_BACKOFF) {
    // initialBackoffMs 0 × Infinity would be NaN: a zero start stays zero.
    base = initialBackoffMs === 0 ? 0 : initialBackoffMs * backoffMultiplier ** (attempt - 1)
  } else if (policy === ReconnectionPolicy.LINEAR_BACKOFF) {
    base = initialBackoffMs * attempt
  } else {
    return 0
  }
  const cap = Math.min(base, maxBackoffMs)
  return Math.floor(jitter ? random() * cap : cap)
}
