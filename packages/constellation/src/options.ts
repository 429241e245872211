import { MAX_SERVER_URLS, connectWebSocket, type Logger, type Transport } from '@aip/endpoint'
import {
  CheckedOption, FunctionOption, InvalidArgumentError, InvalidOptionError, LoggerOption, MAX_TIMER_MS, Milliseconds,
  ReconnectionStrategy, describeValue, resolveOptions as resolveSchema, type ReconnectionStrategyOptions
} from '@aip/resilience'
import { Type } from '@sinclair/typebox'
import type { AgentProfile, MessageProcessor } from './types.js'

/** Opens the transport of one device's connection (`deviceId` says which). Default: `connectWebSocket` of `@aip/endpoint`. */
export type TransportFactory = (url: string, options: { signal: AbortSignal, handshakeTimeoutMs: number, deviceId: string }) => Promise<Transport>

/** What the `reconnectionStrategy` option takes. */
export type ReconnectionOption = ReconnectionStrategy | ReconnectionStrategyOptions | ((serverUrl: string) => ReconnectionStrategy)

/** Options of `ConstellationEndpoint`. Times are in milliseconds. */
export interface ConstellationOptions {
  /** The orchestrator's task name: client ids are `<taskName>@<deviceId>`, session ids `<taskName>@<taskId>`. */
  taskName: string
  /** Sees every incoming message first. */
  messageProcessor?: MessageProcessor | null | undefined
  /**
   * Reconnection after a disconnection. Options (or nothing, for attempts without end from 1 s, capped at 5 s,
   * with full jitter) build **one strategy per server URL** (per list, for devices given a list); a
   * `ReconnectionStrategy` instance is shared by every server; a function builds the strategy of each server (it
   * receives the URL without its query; for a list, each URL without its query, joined with `,`).
   */
  reconnectionStrategy?: ReconnectionOption | undefined
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
  /** Default deadline of `sendWithTimeout` / `receiveWithTimeout`. Default 120000. */
  defaultTimeoutMs?: number | undefined
  /** Tasks a device runs at once; the others wait in its FIFO queue. Default 1. */
  maxConcurrentTasks?: number | undefined
  /** Tasks waiting in one device's queue before `sendTaskToDevice` refuses. Default 10000. */
  maxQueuedTasks?: number | undefined
  /** Queued tasks wait while their device reconnects (true) or fail at the disconnection (false). Default true. */
  keepQueueWhileReconnecting?: boolean | undefined
  /** Opens each connection's transport. Default: a `ws` WebSocket (`connectWebSocket`). */
  transportFactory?: TransportFactory | undefined
  /**
   * Ask each server for the task-continuity extension (`resume`, `cancel`, `deadline`) in the REGISTER `metadata`.
   * A server that grants nothing (the Python reference) keeps the reference behaviour; `false` sends the
   * reference REGISTER byte for byte. Default true.
   */
  continuity?: boolean | undefined
  /**
   * Ask each server for the presence extension (`presence` in the REGISTER's `metadata.aip_capabilities`): a server
   * that grants it sends `device_presence` frames about the device, which become `devicePresence` events and the
   * device snapshot's `presence`. Default false (the REGISTER stays as `continuity` makes it).
   */
  presence?: boolean | undefined
  /**
   * With `resume` granted: how long after the server's resume window a dropped device's running tasks still
   * wait for a registration before they fail. Default 2000.
   */
  resumeMarginMs?: number | undefined
  /**
   * With `cancel` granted: how long a cancelled (aborted or timed-out) task keeps its device slot while waiting for
   * the server's TASK_END that confirms the end. Default 10000.
   */
  cancelConfirmTimeoutMs?: number | undefined
}

/** The validated, frozen options (`endpoint.options`). */
export interface ResolvedConstellationOptions {
  readonly taskName: string
  readonly messageProcessor: MessageProcessor | undefined
  /** The reconnection strategy of a server (the URL without its query), and whether the endpoint owns it. */
  readonly strategyFor: (serverUrl: string) => { strategy: ReconnectionStrategy, owned: boolean }
  readonly logger: Logger
  readonly autoReconnect: boolean
  readonly connectTimeoutMs: number
  readonly registrationTimeoutMs: number
  readonly heartbeatIntervalMs: number
  readonly maxMissedHeartbeats: number
  readonly taskTimeoutMs: number
  readonly deviceInfoTimeoutMs: number
  readonly defaultTimeoutMs: number
  readonly maxConcurrentTasks: number
  readonly maxQueuedTasks: number
  readonly keepQueueWhileReconnecting: boolean
  readonly transportFactory: TransportFactory
  readonly continuity: boolean
  readonly presence: boolean
  readonly resumeMarginMs: number
  readonly cancelConfirmTimeoutMs: number
}

const isProcessor = (value: unknown): boolean => value === null || typeof value === 'function' ||
  (typeof value === 'object' && typeof (value as { processMessage?: unknown }).processMessage === 'function')

const isReconnection = (value: unknown): boolean => value instanceof ReconnectionStrategy || typeof value === 'function' ||
  (typeof value === 'object' && value !== null && !Array.isArray(value))

const defaultTransportFactory: TransportFactory = (url, { signal, handshakeTimeoutMs }) => connectWebSocket(url, { signal, handshakeTimeoutMs })

/** The schema of {@link ConstellationOptions}, with its defaults. */
export const ConstellationOptionsSchema = Type.Object({
  taskName: Type.String({ minLength: 1, pattern: '\\S', expected: 'a non-empty string' }),
  messageProcessor: Type.Optional(CheckedOption<MessageProcessor | null>('a function or an object with processMessage', isProcessor)),
  reconnectionStrategy: Type.Optional(CheckedOption<ReconnectionOption>('a ReconnectionStrategy, its options, or a factory', isReconnection)),
  logger: LoggerOption(),
  autoReconnect: Type.Boolean({ default: true }),
  connectTimeoutMs: Milliseconds({ min: 1, default: 10_000 }),
  registrationTimeoutMs: Milliseconds({ min: 1, default: 10_000 }),
  heartbeatIntervalMs: Milliseconds({ min: 1, default: 30_000 }),
  maxMissedHeartbeats: Type.Integer({ minimum: 1, maximum: 1000, default: 3 }),
  taskTimeoutMs: Milliseconds({ min: 1, default: 300_000 }),
  deviceInfoTimeoutMs: Milliseconds({ min: 1, default: 10_000 }),
  defaultTimeoutMs: Milliseconds({ min: 1, default: 120_000 }),
  maxConcurrentTasks: Type.Integer({ minimum: 1, maximum: 10_000, default: 1 }),
  maxQueuedTasks: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 10_000 }),
  keepQueueWhileReconnecting: Type.Boolean({ default: true }),
  transportFactory: FunctionOption<TransportFactory>({ default: defaultTransportFactory }),
  continuity: Type.Boolean({ default: true }),
  presence: Type.Boolean({ default: false }),
  resumeMarginMs: Milliseconds({ min: 0, default: 2000 }),
  cancelConfirmTimeoutMs: Milliseconds({ min: 1, default: 10_000 })
})

/**
 * Reconnection without end, from 1 s, capped at 5 s, with full jitter: an orchestrator does not give up on its
 * devices because a server restarted (the reference stops after 5 attempts), and follows them back within a few
 * seconds of their own return. A profile's `maxRetries` caps it.
 */
const DEFAULT_RECONNECTION: ReconnectionStrategyOptions = { maxRetries: Infinity, initialBackoffMs: 1000, maxBackoffMs: 5000 }

function strategyFor (value: ReconnectionOption | undefined, log: Logger): ResolvedConstellationOptions['strategyFor'] {
  if (value instanceof ReconnectionStrategy) return () => ({ strategy: value, owned: false })
  if (typeof value === 'function') {
    return (serverUrl) => {
      const strategy: unknown = value(serverUrl)
      if (!(strategy instanceof ReconnectionStrategy)) {
        throw new InvalidOptionError('reconnectionStrategy', 'a function returning a ReconnectionStrategy', describeValue(strategy))
      }
      return { strategy, owned: false }
    }
  }
  const options: ReconnectionStrategyOptions = { ...DEFAULT_RECONNECTION, logger: log, ...value }
  try {
    // Validated once, here: every server's strategy is built from the same options.
    new ReconnectionStrategy(options).dispose()
  } catch (err) {
    const option = (err as { option?: string }).option
    throw new InvalidOptionError(option === undefined ? 'reconnectionStrategy' : `reconnectionStrategy.${option}`,
      (err as { expected?: string }).expected ?? 'valid ReconnectionStrategy options', (err as { received?: string }).received ?? '', { cause: err })
  }
  return () => ({ strategy: new ReconnectionStrategy(options), owned: true })
}

/** Validates the options once (`AIP_ERR_INVALID_OPTION`), fills in the defaults, and freezes the result. */
export function resolveOptions (input: ConstellationOptions): ResolvedConstellationOptions {
  const o = resolveSchema(ConstellationOptionsSchema, input)
  return Object.freeze({
    ...o,
    messageProcessor: o.messageProcessor ?? undefined,
    strategyFor: strategyFor(o.reconnectionStrategy, o.logger)
  })
}

/** A validated copy of an agent profile. */
export interface ResolvedProfile {
  readonly deviceId: string
  /** The first of {@link ResolvedProfile.serverUrls}. */
  readonly serverUrl: string
  /** Every server URL of the profile, in the order given (one when `serverUrl` is a string). */
  readonly serverUrls: readonly string[]
  readonly os: string | null
  readonly capabilities: readonly string[]
  readonly metadata: Readonly<Record<string, unknown>>
  /** Undefined: the strategy's budget. */
  readonly maxRetries: number | undefined
}

/** The shared `AIP_ERR_INVALID_ARGUMENT` for `argument`, describing the value it got. */
export function invalidArgument (argument: string, expected: string, value: unknown): InvalidArgumentError {
  return new InvalidArgumentError(argument, expected, describeValue(value))
}

/**
 * The `serverUrl` of a profile as a list of parsed URLs: one URL, or 1 to `MAX_SERVER_URLS` distinct ones, each
 * `ws:` or `wss:` (`AIP_ERR_INVALID_ARGUMENT`). A URL is never described in the error: it may carry a token.
 */
function serverUrls (value: unknown): URL[] {
  const expected = `a ws:// or wss:// URL, or a list of 1 to ${MAX_SERVER_URLS} of them`
  if (typeof value !== 'string' && !Array.isArray(value)) throw invalidArgument('agentProfile.serverUrl', expected, value)
  const list: readonly unknown[] = typeof value === 'string' ? [value] : value
  if (list.length === 0 || list.length > MAX_SERVER_URLS) throw new InvalidArgumentError('agentProfile.serverUrl', expected, `a list of ${list.length}`)
  const urls: URL[] = []
  list.forEach((item, index) => {
    const name = typeof value === 'string' ? 'agentProfile.serverUrl' : `agentProfile.serverUrl[${index}]`
    let url: URL | undefined
    try {
      url = typeof item === 'string' ? new URL(item) : undefined
    } catch {}
    if (url === undefined || (url.protocol !== 'ws:' && url.protocol !== 'wss:')) {
      throw new InvalidArgumentError(name, 'a ws:// or wss:// URL', typeof item === 'string' ? 'another URL' : describeValue(item))
    }
    const { href } = url
    if (urls.some((seen) => seen.href === href)) throw new InvalidArgumentError(name, 'a URL not already in the list', 'a duplicate')
    urls.push(url)
  })
  return urls
}

/** Validates an agent profile (`AIP_ERR_INVALID_ARGUMENT`); each URL must be `ws:` or `wss:`. */
export function resolveProfile (profile: AgentProfile): { profile: ResolvedProfile, urls: URL[] } {
  if (typeof profile !== 'object' || profile === null) throw invalidArgument('agentProfile', 'an object', profile)
  const { deviceId } = profile
  if (typeof deviceId !== 'string' || deviceId.trim() === '') throw invalidArgument('agentProfile.deviceId', 'a non-empty string', deviceId)
  const urls = serverUrls(profile.serverUrl)
  const given: readonly string[] = typeof profile.serverUrl === 'string' ? [profile.serverUrl] : [...profile.serverUrl]
  const maxRetries = profile.maxRetries
  if (maxRetries !== undefined && (typeof maxRetries !== 'number' || !(maxRetries === Infinity || (Number.isInteger(maxRetries) && maxRetries >= 0)))) {
    throw invalidArgument('agentProfile.maxRetries', 'an integer >= 0 or Infinity', maxRetries)
  }
  const capabilities = profile.capabilities ?? []
  if (!Array.isArray(capabilities) || capabilities.some((c) => typeof c !== 'string')) {
    throw invalidArgument('agentProfile.capabilities', 'an array of strings', capabilities)
  }
  const metadata = profile.metadata ?? {}
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) throw invalidArgument('agentProfile.metadata', 'an object', metadata)
  return {
    urls,
    profile: Object.freeze({
      deviceId,
      serverUrl: given[0] as string,
      serverUrls: Object.freeze(given),
      os: profile.os ?? null,
      capabilities: Object.freeze([...capabilities]),
      metadata: Object.freeze({ ...metadata }),
      maxRetries
    })
  }
}

/** A per-call timeout: `undefined`, or a whole number of ms from 1 to 2^31 − 1 (`AIP_ERR_INVALID_ARGUMENT`). */
export function timeoutArgument (name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_TIMER_MS) {
    throw invalidArgument(name, `an integer number of ms from 1 to ${MAX_TIMER_MS}`, value)
  }
  return value
}
