import { inspect } from 'node:util'
import { ReconnectionPolicy } from './backoff.js'
import { InvalidOptionError } from './errors.js'
import { silentLogger } from './logger.js'
import type { Logger } from './logger.js'

import { MAX_TIMER_MS } from './schema-options.js'

export { MAX_TIMER_MS }

type ErrorCtor = new (name: string, expected: string, got: string) => Error

function fail (Ctor: ErrorCtor, name: string, expected: string, value: unknown): never {
  throw new Ctor(name, expected, inspect(value, { depth: 0 }))
}

/** Checks a delay: a finite number in [min, MAX_TIMER_MS]; `positive` excludes 0. */
export function checkMs (name: string, value: unknown, positive: boolean, Ctor: ErrorCtor = InvalidOptionError): number {
  const ok = typeof value === 'number' && Number.isFinite(value) && value <= MAX_TIMER_MS && (positive ? value > 0 : value >= 0)
  if (!ok) fail(Ctor, name, `a number of milliseconds ${positive ? '> 0' : '>= 0'} and <= ${MAX_TIMER_MS}`, value)
  return value
}

function checkInteger (name: string, value: unknown, min: number, allowInfinity: boolean): number {
  const ok = typeof value === 'number' && value >= min && (Number.isInteger(value) || (allowInfinity && value === Infinity))
  if (!ok) fail(InvalidOptionError, name, `an integer >= ${min}${allowInfinity ? ' or Infinity' : ''}`, value)
  return value
}

function checkFunction<F> (name: string, value: unknown): F {
  if (typeof value !== 'function') fail(InvalidOptionError, name, 'a function', value)
  return value as F
}

function checkLogger (value: unknown): Logger {
  const levels = ['debug', 'info', 'warn', 'error'] as const
  const ok = typeof value === 'object' && value !== null &&
    levels.every(level => typeof (value as Record<string, unknown>)[level] === 'function')
  if (!ok) fail(InvalidOptionError, 'logger', 'an object with debug, info, warn and error methods', value)
  return value as Logger
}

function checkObject<T extends object> (name: string, value: T | undefined): Partial<T> {
  if (value === undefined) return {}
  if (typeof value !== 'object' || value === null) fail(InvalidOptionError, name, 'an object', value)
  return value
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

const reconnectionPolicies = new Set<unknown>(Object.values(ReconnectionPolicy))

/**
 * Validates reconnection options, fills in the defaults and freezes the result.
 * Throws `AIP_ERR_INVALID_OPTION` on the first bad value.
 */
export function resolveReconnectionOptions (input?: ReconnectionStrategyOptions): ResolvedReconnectionOptions {
  const o = checkObject('options', input)
  const policy = o.policy ?? ReconnectionPolicy.EXPONENTIAL_BACKOFF
  if (!reconnectionPolicies.has(policy)) fail(InvalidOptionError, 'policy', `one of ${[...reconnectionPolicies].join(', ')}`, policy)
  const multiplier = o.backoffMultiplier ?? 2
  if (typeof multiplier !== 'number' || !Number.isFinite(multiplier) || multiplier < 1) {
    fail(InvalidOptionError, 'backoffMultiplier', 'a finite number >= 1', multiplier)
  }
  const jitter = o.jitter ?? true
  if (typeof jitter !== 'boolean') fail(InvalidOptionError, 'jitter', 'a boolean', jitter)
  return Object.freeze({
    maxRetries: checkInteger('maxRetries', o.maxRetries ?? 5, 0, true),
    initialBackoffMs: checkMs('initialBackoffMs', o.initialBackoffMs ?? 1000, false),
    maxBackoffMs: checkMs('maxBackoffMs', o.maxBackoffMs ?? 60_000, false),
    backoffMultiplier: multiplier,
    policy,
    jitter,
    random: checkFunction<() => number>('random', o.random ?? Math.random),
    logger: checkLogger(o.logger ?? silentLogger)
  })
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

/**
 * Validates heartbeat options, fills in the defaults and freezes the result.
 * Throws `AIP_ERR_INVALID_OPTION` on the first bad value (an interval of 0 included).
 */
export function resolveHeartbeatOptions (input: HeartbeatManagerOptions): ResolvedHeartbeatOptions {
  const o = checkObject('options', input)
  return Object.freeze({
    send: checkFunction<HeartbeatSend>('send', o.send),
    intervalMs: checkMs('intervalMs', o.intervalMs ?? 30_000, true),
    maxMissedAcks: checkInteger('maxMissedAcks', o.maxMissedAcks ?? 3, 1, false),
    now: checkFunction<() => number>('now', o.now ?? (() => performance.now())),
    logger: checkLogger(o.logger ?? silentLogger)
  })
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

/**
 * Validates timeout options, fills in the defaults and freezes the result.
 * Throws `AIP_ERR_INVALID_OPTION` on the first bad value.
 */
export function resolveTimeoutOptions (input?: TimeoutManagerOptions): ResolvedTimeoutOptions {
  const o = checkObject('options', input)
  return Object.freeze({
    defaultTimeoutMs: checkMs('defaultTimeoutMs', o.defaultTimeoutMs ?? 120_000, true),
    logger: checkLogger(o.logger ?? silentLogger)
  })
}
