import { InvalidArgumentError } from './errors.js'

/*
 * The reconnect hint of a drain (PROTOCOL.md, "Drain and the reconnect hint"). A server that drains before a
 * restart closes every connection with 1012 (service restart) and a close reason that says how long a client
 * should spread its reconnection over: `aip-drain retry-ms=<n>`. A client that reads the hint reconnects after a
 * random delay within it, to the next server first; any other close reason (a Python client ignores the reason
 * altogether) means the usual backoff.
 */

/** The WebSocket close code of a drain: 1012, service restart. */
export const DRAIN_CLOSE_CODE = 1012

/** The first word of a close reason that carries a reconnect hint. */
export const DRAIN_REASON_PREFIX = 'aip-drain'

/** The largest reconnect window a hint carries (a larger one is read as this). */
export const MAX_DRAIN_RETRY_MS = 60_000

/** What the close of a drain tells a client. */
export interface DrainHint {
  /** Reconnect after a uniformly random delay in [0, retryMs] milliseconds, to the next server first. */
  readonly retryMs: number
}

const RETRY_TOKEN = 'retry-ms='
const DIGITS = /^\d{1,16}$/

/**
 * The close reason of a drain carrying a reconnect window of `retryMs` milliseconds: `aip-drain retry-ms=<n>`, with
 * `n` rounded down and capped at {@link MAX_DRAIN_RETRY_MS} (the reason stays far below the 123-byte limit).
 *
 * @throws `AIP_ERR_PROTOCOL_INVALID_ARGUMENT` when `retryMs` is not a finite number >= 0
 */
export function drainCloseReason (retryMs: number): string {
  if (typeof retryMs !== 'number' || !Number.isFinite(retryMs) || retryMs < 0) {
    throw new InvalidArgumentError(`retryMs must be a finite number >= 0, got ${String(retryMs)}`)
  }
  return `${DRAIN_REASON_PREFIX} retry-ms=${Math.min(Math.floor(retryMs), MAX_DRAIN_RETRY_MS)}`
}

/**
 * The reconnect hint of a close, or `null` when it carries none: the code is not 1012, or the reason is not
 * `aip-drain retry-ms=<n>` (`n` a decimal integer; one above {@link MAX_DRAIN_RETRY_MS} reads as that). Words
 * after the first that it does not know (`key=value` added by a later version) are ignored. `reason` may be the
 * `Buffer` a `ws` close event gives.
 */
export function readDrainHint (code: number, reason: string | Uint8Array | null | undefined): DrainHint | null {
  if (code !== DRAIN_CLOSE_CODE || reason === null || reason === undefined) return null
  const text = typeof reason === 'string' ? reason : Buffer.from(reason.buffer, reason.byteOffset, reason.byteLength).toString('utf8')
  const words = text.trim().split(/\s+/)
  if (words[0] !== DRAIN_REASON_PREFIX) return null
  for (const word of words) {
    if (!word.startsWith(RETRY_TOKEN)) continue
    const value = word.slice(RETRY_TOKEN.length)
    if (!DIGITS.test(value)) return null
    return Object.freeze({ retryMs: Math.min(Number(value), MAX_DRAIN_RETRY_MS) })
  }
  return null
}
