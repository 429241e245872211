import { connectWebSocket, silentLogger, type Logger, type Transport } from '@aip/endpoint'
import { ReconnectionStrategy, type ReconnectionStrategyOptions } from '@aip/resilience'
import { InvalidArgumentError, InvalidOptionError } from './errors.js'
import type { AgentProfile, MessageProcessor } from './types.js'

/** Largest delay a Node.js timer accepts (2^31 − 1 ms). */
const MAX_TIMER_MS = 2_147_483_647

/** Opens the transport of one device's connection (`deviceId` says which). Default: `connectWebSocket` of `@aip/endpoint`. */
export type TransportFactory = (url: string, options: { signal: AbortSignal, handshakeTimeoutMs: number, deviceId: string }) => Promise<Transport>

/** Options of `ConstellationEndpoint`. Times are in milliseconds. */
export interface ConstellationOptions {
  /** The orchestrator's task name: client ids are `<taskName>@<deviceId>`, session ids `<taskName>@<taskId>`. */
  taskName: string
  /** Sees every incoming message first. */
  messageProcessor?: MessageProcessor | undefined
  /**
   * Reconnection after a disconnection. Options (or nothing, for attempts without end from 1 s, capped at 5 s,
   * with full jitter) build **one strategy per server URL**; a `ReconnectionStrategy` instance is shared
   * by every server; a function builds the strategy of each server (it receives the URL without its query).
   */
  reconnectionStrategy?: ReconnectionStrategy | ReconnectionStrategyOptions | ((serverUrl: string) => ReconnectionStrategy) | undefined
  /** pino-compatible logger. Default: silent. */
  logger?: Logger | undefined
  /** Reconnect by itself after a disconnection. Default true. */
  autoReconnect?: boolean | undefined
  /** Deadline of the WebSocket handshake. Default 10000. */
  connectTimeoutMs?: number | undefined
  /** Deadline of the registration answer. Default 10000 (the reference's). */
  registrationTimeoutMs?: number | undefined
  /** Time between heartbeats on every connection. Default 30000. */
  heartbeatIntervalMs?: number | undefined
  /** Heartbeats in a row without an answer before the connection is dropped (and reconnected). Default 3. */
  maxMissedHeartbeats?: number | undefined
  /** Default deadline of a task, queue wait included. Default 300000 (the reference's). */
  taskTimeoutMs?: number | undefined
  /** Default deadline of `requestDeviceInfo`. Default 10000. */
  deviceInfoTimeoutMs?: number | undefined
  /** Tasks a device runs at once; the others wait in its FIFO queue. Default 1. */
  maxConcurrentTasks?: number | undefined
  /** Tasks waiting in one device's queue before `sendTaskToDevice` refuses. Default 10000. */
  maxQueuedTasks?: number | undefined
  /** Queued tasks wait while their device reconnects (true) or fail at the disconnection (false). Default true. */
  keepQueueWhileReconnecting?: boolean | undefined
  /** Opens each connection's transport. Default: a `ws` WebSocket (`connectWebSocket`). */
  transportFactory?: TransportFactory | undefined
}

/** The validated, frozen options. */
export interface ResolvedConstellationOptions {
  readonly taskName: string
  readonly messageProcessor: MessageProcessor | undefined
  readonly strategyFor: (serverUrl: string) => { strategy: ReconnectionStrategy, owned: boolean }
  readonly logger: Logger
  readonly autoReconnect: boolean
  readonly connectTimeoutMs: number
  readonly registrationTimeoutMs: number
  readonly heartbeatIntervalMs: number
  readonly maxMissedHeartbeats: number
  readonly taskTimeoutMs: number
  readonly deviceInfoTimeoutMs: number
  readonly maxConcurrentTasks: number
  readonly maxQueuedTasks: number
  readonly keepQueueWhileReconnecting: boolean
  readonly transportFactory: TransportFactory
}

function describe (value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value)
  return typeof value
}

function integer (name: string, value: unknown, fallback: number, min: number, max = MAX_TIMER_MS): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(name, `an integer from ${min} to ${max}`, describe(value))
  }
  return value
}

function boolean (name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw new InvalidOptionError(name, 'a boolean', describe(value))
  return value
}

function logger (value: unknown): Logger {
  if (value === undefined) return silentLogger
  const candidate = value as Partial<Record<'debug' | 'info' | 'warn' | 'error', unknown>> | null
  if (typeof candidate !== 'object' || candidate === null || typeof candidate.debug !== 'function' ||
    typeof candidate.info !== 'function' || typeof candidate.warn !== 'function' || typeof candidate.error !== 'function') {
    throw new InvalidOptionError('logger', 'an object with debug, info, warn and error methods', describe(value))
  }
  return value as Logger
}

function messageProcessor (value: unknown): MessageProcessor | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value === 'function') return value as MessageProcessor
  if (typeof value === 'object' && typeof (value as { processMessage?: unknown }).processMessage === 'function') {
    return value as MessageProcessor
  }
  throw new InvalidOptionError('messageProcessor', 'a function or an object with processMessage', describe(value))
}

/**
 * Reconnection without end, from 1 s, capped at 5 s, with full jitter: an orchestrator does not give up on its
 * devices because a server restarted (the reference stops after 5 attempts), and follows them back within a few
 * seconds of their own return. A profile's `maxRetries` caps it.
 */
const DEFAULT_RECONNECTION: ReconnectionStrategyOptions = { maxRetries: Infinity, initialBackoffMs: 1000, maxBackoffMs: 5000 }

function strategyFor (value: unknown, log: Logger): ResolvedConstellationOptions['strategyFor'] {
  if (value instanceof ReconnectionStrategy) return () => ({ strategy: value, owned: false })
  if (typeof value === 'function') {
    const factory = value as (serverUrl: string) => unknown
    return (serverUrl) => {
      const strategy = factory(serverUrl)
      if (!(strategy instanceof ReconnectionStrategy)) {
        throw new InvalidOptionError('reconnectionStrategy', 'a function returning a ReconnectionStrategy', describe(strategy))
      }
      return { strategy, owned: false }
    }
  }
  if (value !== undefined && (typeof value !== 'object' || value === null)) {
    throw new InvalidOptionError('reconnectionStrategy', 'a ReconnectionStrategy, its options, or a factory', describe(value))
  }
  const options: ReconnectionStrategyOptions = { ...DEFAULT_RECONNECTION, logger: log, ...(value as ReconnectionStrategyOptions | undefined) }
  try {
    // Validated once, here: every server's strategy is built from the same options.
    new ReconnectionStrategy(options).dispose()
  } catch (err) {
    throw new InvalidOptionError('reconnectionStrategy', 'valid ReconnectionStrategy options', (err as Error).message, { cause: err })
  }
  return () => ({ strategy: new ReconnectionStrategy(options), owned: true })
}

const defaultTransportFactory: TransportFactory = (url, { signal, handshakeTimeoutMs }) => connectWebSocket(url, { signal, handshakeTimeoutMs })

/** Validates the options once, fills in the defaults, and freezes the result. */
export function resolveOptions (input: ConstellationOptions): ResolvedConstellationOptions {
  if (typeof input !== 'object' || input === null) throw new InvalidOptionError('options', 'an object', describe(input))
  const { taskName } = input
  if (typeof taskName !== 'string' || taskName.trim() === '') {
    throw new InvalidOptionError('taskName', 'a non-empty string', describe(taskName))
  }
  const log = logger(input.logger)
  const transportFactory = input.transportFactory ?? defaultTransportFactory
  if (typeof transportFactory !== 'function') throw new InvalidOptionError('transportFactory', 'a function', describe(transportFactory))
  return Object.freeze({
    taskName,
    messageProcessor: messageProcessor(input.messageProcessor),
    strategyFor: strategyFor(input.reconnectionStrategy, log),
    logger: log,
    autoReconnect: boolean('autoReconnect', input.autoReconnect, true),
    connectTimeoutMs: integer('connectTimeoutMs', input.connectTimeoutMs, 10_000, 1),
    registrationTimeoutMs: integer('registrationTimeoutMs', input.registrationTimeoutMs, 10_000, 1),
    heartbeatIntervalMs: integer('heartbeatIntervalMs', input.heartbeatIntervalMs, 30_000, 1),
    maxMissedHeartbeats: integer('maxMissedHeartbeats', input.maxMissedHeartbeats, 3, 1, 1000),
    taskTimeoutMs: integer('taskTimeoutMs', input.taskTimeoutMs, 300_000, 1),
    deviceInfoTimeoutMs: integer('deviceInfoTimeoutMs', input.deviceInfoTimeoutMs, 10_000, 1),
    maxConcurrentTasks: integer('maxConcurrentTasks', input.maxConcurrentTasks, 1, 1, 10_000),
    maxQueuedTasks: integer('maxQueuedTasks', input.maxQueuedTasks, 10_000, 0, Number.MAX_SAFE_INTEGER),
    keepQueueWhileReconnecting: boolean('keepQueueWhileReconnecting', input.keepQueueWhileReconnecting, true),
    transportFactory
  })
}

/** A validated copy of an agent profile. */
export interface ResolvedProfile {
  readonly deviceId: string
  readonly serverUrl: string
  readonly os: string | null
  readonly capabilities: readonly string[]
  readonly metadata: Readonly<Record<string, unknown>>
  /** Undefined: the strategy's budget. */
  readonly maxRetries: number | undefined
}

/** Validates an agent profile (`AIP_ERR_CONSTELLATION_INVALID_ARGUMENT`); the URL must be `ws:` or `wss:`. */
export function resolveProfile (profile: AgentProfile): { profile: ResolvedProfile, url: URL } {
  if (typeof profile !== 'object' || profile === null) throw new InvalidArgumentError('agentProfile', 'expected an object')
  const { deviceId, serverUrl } = profile
  if (typeof deviceId !== 'string' || deviceId.trim() === '') throw new InvalidArgumentError('deviceId', 'expected a non-empty string')
  if (typeof serverUrl !== 'string') throw new InvalidArgumentError('serverUrl', 'expected a ws:// or wss:// URL')
  let url: URL
  try {
    url = new URL(serverUrl)
  } catch {
    throw new InvalidArgumentError('serverUrl', 'expected a ws:// or wss:// URL')
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new InvalidArgumentError('serverUrl', 'expected a ws:// or wss:// URL')
  const maxRetries = profile.maxRetries
  if (maxRetries !== undefined && (typeof maxRetries !== 'number' || !(maxRetries === Infinity || (Number.isInteger(maxRetries) && maxRetries >= 0)))) {
    throw new InvalidArgumentError('maxRetries', `expected an integer >= 0 or Infinity, got ${describe(maxRetries)}`)
  }
  const capabilities = profile.capabilities ?? []
  if (!Array.isArray(capabilities) || capabilities.some((c) => typeof c !== 'string')) {
    throw new InvalidArgumentError('capabilities', 'expected an array of strings')
  }
  const metadata = profile.metadata ?? {}
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw new InvalidArgumentError('metadata', 'expected an object')
  }
  return {
    url,
    profile: Object.freeze({
      deviceId,
      serverUrl,
      os: profile.os ?? null,
      capabilities: Object.freeze([...capabilities]),
      metadata: Object.freeze({ ...metadata }),
      maxRetries
    })
  }
}

/** A per-call timeout: `undefined`, or a whole number of ms from 1 to 2^31 − 1. */
export function timeoutArgument (name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_TIMER_MS) {
    throw new InvalidArgumentError(name, `expected an integer number of ms from 1 to ${MAX_TIMER_MS}, got ${describe(value)}`)
  }
  return value
}
