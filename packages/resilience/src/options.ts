import { Type, type TNumber } from '@sinclair/typebox'
import { ReconnectionPolicy } from './backoff.js'
import { InvalidOptionError } from './errors.js'
import type { Logger } from './logger.js'
import { Default, FunctionOption, LoggerOption, MAX_TIMER_MS, describeValue, resolveOptions, type WithDefault } from './schema-options.js'

export { MAX_TIMER_MS }

type ErrorCtor = new (name: string, expected: string, received: string) => Error

/** Checks a per-call delay: a finite number in [0, MAX_TIMER_MS]; `positive` excludes 0. */
export function checkMs (name: string, value: unknown, positive: boolean, Ctor: ErrorCtor = InvalidOptionError): number {
  const ok = typeof value === 'number' && Number.isFinite(value) && value <= MAX_TIMER_MS && (positive ? value > 0 : value >= 0)
  if (!ok) throw new Ctor(name, `a number of milliseconds ${positive ? '> 0' : '>= 0'} and <= ${MAX_TIMER_MS}`, describeValue(value))
  return value
}

/** A delay in ms, not necessarily an integer: >= 0 (or > 0 when `positive`), at most MAX_TIMER_MS. */
function Delay (positive: boolean, fallback: number): WithDefault<TNumber> {
  return Default(Type.Number({
    ...(positive ? { exclusiveMinimum: 0 } : { minimum: 0 }),
    maximum: MAX_TIMER_MS,
    expected: `a number of milliseconds ${positive ? '> 0' : '>= 0'} and <= ${MAX_TIMER_MS}`
  }), fallback)
}

/**
 * Options of {@link ReconnectionStrategy}. Every field is optional.
 */
export interface ReconnectionStrategyOptions {
  /** Attempts before giving up: an integer >= 0, or `Infinity` to never give up. Default 5. */
  maxRetries?: number
  /** Delay before the first attempt, in ms. Default 1000. */
  initialBackoffMs?: number
  /** Upper bound of any delay, in ms. Default 60000. */
  maxBackoffMs?: number
  /** Growth factor of `EXPONENTIAL_BACKOFF`, >= 1. Default 2. */
  backoffMultiplier?: number
  /** How delays grow. Default `ReconnectionPolicy.EXPONENTIAL_BACKOFF`. */
  policy?: ReconnectionPolicy
  /** Full jitter on every delay (see README). Default true; false gives the exact deterministic sequence. */
  jitter?: boolean
  /** Source of numbers in [0, 1) for the jitter. Default `Math.random`. */
  random?: () => number
  /** A pino-compatible logger. Default: silent. */
  logger?: Logger
}

/** {@link ReconnectionStrategyOptions} after validation, with every default filled in (frozen). */
export type ResolvedReconnectionOptions = Readonly<Required<ReconnectionStrategyOptions>>

/** The schema of {@link ReconnectionStrategyOptions}, with its defaults. */
const ReconnectionOptionsSchema = Type.Object({
  maxRetries: Default(Type.Union([Type.Integer({ minimum: 0 }), Type.Literal(Infinity)]), 5),
  initialBackoffMs: Delay(false, 1000),
  maxBackoffMs: Delay(false, 60_000),
  backoffMultiplier: Default(Type.Number({ minimum: 1, expected: 'a finite number >= 1' }), 2),
  policy: Default(Type.Union(Object.values(ReconnectionPolicy).map((policy) => Type.Literal(policy))), ReconnectionPolicy.EXPONENTIAL_BACKOFF),
  jitter: Default(Type.Boolean(), true),
  random: FunctionOption<() => number>({ default: Math.random }),
  logger: LoggerOption()
})

/**
 * Validates reconnection options, fills in the defaults and freezes the result.
 * Throws `AIP_ERR_INVALID_OPTION` on the first bad value.
 */
export function resolveReconnectionOptions (input?: ReconnectionStrategyOptions): ResolvedReconnectionOptions {
  return resolveOptions(ReconnectionOptionsSchema, input) as ResolvedReconnectionOptions
}

/**
 * What {@link HeartbeatManager} hands to `send`: a signal aborted when the client's heartbeat stops.
 */
export interface HeartbeatSendContext {
  signal: AbortSignal
}

/**
 * Sends one heartbeat to `clientId`. May be sync or async; a throw or rejection is logged and the
 * heartbeat counts as unacknowledged.
 */
export type HeartbeatSend = (clientId: string, context: HeartbeatSendContext) => void | Promise<void>

/**
 * Options of {@link HeartbeatManager}. `send` is required.
 */
export interface HeartbeatManagerOptions {
  /** Sends one heartbeat to a client. */
  send: HeartbeatSend
  /** Default time between heartbeats, in ms, > 0. Default 30000. */
  intervalMs?: number
  /** Consecutive unacknowledged heartbeats after which a peer is declared dead, >= 1. Default 3. */
  maxMissedAcks?: number
  /** Monotonic clock in ms, for RTTs. Default `performance.now()`. */
  now?: () => number
  /** A pino-compatible logger. Default: silent. */
  logger?: Logger
}

/** {@link HeartbeatManagerOptions} after validation, with every default filled in (frozen). */
export type ResolvedHeartbeatOptions = Readonly<Required<HeartbeatManagerOptions>>

/** The schema of {@link HeartbeatManagerOptions}, with its defaults. */
const HeartbeatOptionsSchema = Type.Object({
  send: FunctionOption<HeartbeatSend>(),
  intervalMs: Delay(true, 30_000),
  maxMissedAcks: Default(Type.Integer({ minimum: 1 }), 3),
  now: FunctionOption<() => number>({ default: () => performance.now() }),
  logger: LoggerOption()
})

/**
 * Validates heartbeat options, fills in the defaults and freezes the result.
 * Throws `AIP_ERR_INVALID_OPTION` on the first bad value (an interval of 0 included).
 */
export function resolveHeartbeatOptions (input: HeartbeatManagerOptions): ResolvedHeartbeatOptions {
  return resolveOptions(HeartbeatOptionsSchema, input) as ResolvedHeartbeatOptions
}

/**
 * Options of {@link TimeoutManager}.
 */
export interface TimeoutManagerOptions {
  /** Time given to an operation when the call names none, in ms, > 0. Default 120000. */
  defaultTimeoutMs?: number
  /** A pino-compatible logger. Default: silent. */
  logger?: Logger
}

/** {@link TimeoutManagerOptions} after validation, with every default filled in (frozen). */
export type ResolvedTimeoutOptions = Readonly<Required<TimeoutManagerOptions>>

/** The schema of {@link TimeoutManagerOptions}, with its defaults. */
const TimeoutOptionsSchema = Type.Object({
  defaultTimeoutMs: Delay(true, 120_000),
  logger: LoggerOption()
})

/**
 * Validates timeout options, fills in the defaults and freezes the result.
 * Throws `AIP_ERR_INVALID_OPTION` on the first bad value.
 */
export function resolveTimeoutOptions (input?: TimeoutManagerOptions): ResolvedTimeoutOptions {
  return resolveOptions(TimeoutOptionsSchema, input) as ResolvedTimeoutOptions
}
