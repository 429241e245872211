import os from 'node:os'
import { ReconnectionStrategy, silentLogger, type Logger } from '@aip/resilience'
import { InvalidOptionError } from './errors.js'
import { referencePlatform } from './telemetry.js'
import type { CommandExecutor } from './executor.js'
import type { ToolSet } from './tools.js'

/** Cap of the default strategy's delays: after a long outage every device tries again within 10 s. */
const DEFAULT_MAX_BACKOFF_MS = 10_000

/** Largest delay a Node.js timer accepts (2^31 − 1 ms). */
const MAX_TIMER_MS = 2_147_483_647

/** Options of {@link DeviceClientEndpoint}. */
export interface DeviceClientOptions {
  /** The server's WebSocket URL, `ws://` or `wss://`, with `?token=` when the server wants one. Required. */
  wsUrl: string
  /** The id this device registers with. Required. */
  clientId: string
  /** The tools COMMANDs may call, by name. Default `{}` (`list_tools` is always answered). */
  tools?: ToolSet
  /**
   * Runs the COMMANDs instead of the tool map (an MCP executor, your own). Default: the `tools`, through a
   * `ToolRegistry`. Give `tools` or `executor`, not both.
   */
  executor?: CommandExecutor
  /** `metadata.platform` of the REGISTER: the platform the server runs agents for. Default: this OS, as the reference names it. */
  platform?: string
  /** Namespace of the Results and of `list_tools` (`tool_key` is `<namespace>.<name>`). Default `'aip'`. */
  namespace?: string
  /**
   * Reconnection policy. Default `new ReconnectionStrategy({ maxRetries, initialBackoffMs: 1000, maxBackoffMs: 10000 })`:
   * exponential with full jitter, so a fleet is back within about 10 s of a long outage.
   */
  reconnectionStrategy?: ReconnectionStrategy
  /** Attempts per disconnection, for the default strategy only. Default `Infinity`: a device never gives up. */
  maxRetries?: number
  /** Interval of the application HEARTBEAT. Default 20000 ms (the reference's). */
  heartbeatIntervalMs?: number
  /**
   * While registered, push fresh telemetry (the registration's `system_info` plus load, free memory and uptime)
   * every this many ms, as a DEVICE_INFO_RESPONSE (the reference's push form). Default 0: only at registration.
   */
  telemetryIntervalMs?: number
  /** Heartbeats in a row without an ack after which the connection is dead. Default 3. */
  maxMissedHeartbeats?: number
  /** Interval of WebSocket pings. Default 10000 ms. */
  pingIntervalMs?: number
  /** A connection that brings no frame and no pong for this long is dead (half-open). Default 30000 ms. */
  deadAfterMs?: number
  /** Deadline of the WebSocket handshake and of the registration answer. Default 10000 ms. */
  timeoutMs?: number
  /** Deadline of one tool call unless the tool sets its own `timeoutMs`. Default 60000 ms. */
  toolTimeoutMs?: number
  /** Skip the Commands after the first failure of a COMMAND (status `skipped`), as the reference does. Default true. */
  earlyExit?: boolean
  /** Most COMMAND_RESULTS kept while disconnected. Default 100. */
  maxPendingResults?: number
  /** Age after which kept results are dropped instead of delivered. Default 300000 ms (5 min). */
  pendingResultsTtlMs?: number
  /** `custom_metadata` of the system info. Default `{}`. */
  customMetadata?: Record<string, unknown>
  /** Replaces the detected `supported_features` of the system info. */
  supportedFeatures?: readonly string[]
  /** Extra HTTP headers of the upgrade request (a per-client key, for instance). Default `{}`. */
  headers?: Record<string, string>
  /** pino-compatible logger. Default: silent. */
  logger?: Logger
  /** Wall clock (ms) for `connectedAt` and the age of kept results. Default `Date.now`. */
  now?: () => number
}

/** The validated, frozen options. */
export interface ResolvedDeviceClientOptions {
  readonly wsUrl: string
  readonly clientId: string
  readonly tools: ToolSet
  readonly executor: CommandExecutor | undefined
  readonly platform: string
  readonly namespace: string
  readonly reconnectionStrategy: ReconnectionStrategy
  readonly heartbeatIntervalMs: number
  readonly telemetryIntervalMs: number
  readonly maxMissedHeartbeats: number
  readonly pingIntervalMs: number
  readonly deadAfterMs: number
  readonly timeoutMs: number
  readonly toolTimeoutMs: number
  readonly earlyExit: boolean
  readonly maxPendingResults: number
  readonly pendingResultsTtlMs: number
  readonly customMetadata: Readonly<Record<string, unknown>>
  readonly supportedFeatures: readonly string[] | undefined
  readonly headers: Readonly<Record<string, string>>
  readonly logger: Logger
  readonly now: () => number
}

function describe (value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value)
  return Array.isArray(value) ? 'an array' : typeof value
}

function fail (name: string, expected: string, value: unknown): never {
  throw new InvalidOptionError(name, expected, describe(value))
}

function integer (name: string, value: unknown, fallback: number, min: number, max = MAX_TIMER_MS): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) fail(name, `an integer from ${min} to ${max}`, value)
  return value
}

function text (name: string, value: unknown, fallback?: string): string {
  if (value === undefined && fallback !== undefined) return fallback
  if (typeof value !== 'string' || value.trim() === '') fail(name, 'a non-empty string', value)
  return value
}

function plainObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function tools (value: unknown): ToolSet {
  if (value === undefined) return Object.freeze({})
  if (!plainObject(value)) fail('tools', 'an object of tools by name', value)
  const result: Record<string, ToolSet[string]> = {}
  for (const [name, tool] of Object.entries(value)) {
    if (name.trim() === '') fail('tools', 'non-empty tool names', name)
    if (name === 'list_tools') fail(`tools.${name}`, 'another name (list_tools is built in)', name)
    if (!plainObject(tool) || typeof tool.handler !== 'function') fail(`tools.${name}`, 'an object with a handler function', tool)
    if (tool.timeoutMs !== undefined) integer(`tools.${name}.timeoutMs`, tool.timeoutMs, 1, 1)
    if (tool.toolType !== undefined && tool.toolType !== 'action' && tool.toolType !== 'data_collection') {
      fail(`tools.${name}.toolType`, "'action' or 'data_collection'", tool.toolType)
    }
    result[name] = Object.freeze({ ...tool }) as unknown as ToolSet[string]
  }
  return Object.freeze(result)
}

function executor (options: DeviceClientOptions): CommandExecutor | undefined {
  const value: unknown = options.executor
  if (value === undefined) return undefined
  const candidate = value as Partial<Record<keyof CommandExecutor, unknown>> | null
  if (typeof candidate !== 'object' || candidate === null || typeof candidate.execute !== 'function') {
    fail('executor', 'an object with an execute function', value)
  }
  for (const hook of ['telemetry', 'onTelemetryChange'] as const) {
    if (candidate[hook] !== undefined && typeof candidate[hook] !== 'function') fail(`executor.${hook}`, 'a function', candidate[hook])
  }
  if (options.tools !== undefined) fail('tools', 'undefined when executor is given', options.tools)
  return value as CommandExecutor
}

function logger (value: unknown): Logger {
  if (value === undefined) return silentLogger
  const candidate = value as Partial<Record<keyof Logger, unknown>> | null
  if (!plainObject(candidate) || typeof candidate.debug !== 'function' || typeof candidate.info !== 'function' ||
    typeof candidate.warn !== 'function' || typeof candidate.error !== 'function') {
    fail('logger', 'an object with debug, info, warn and error methods', value)
  }
  return value as Logger
}

function strategy (options: DeviceClientOptions): ReconnectionStrategy {
  if (options.reconnectionStrategy !== undefined) {
    if (!(options.reconnectionStrategy instanceof ReconnectionStrategy)) fail('reconnectionStrategy', 'a ReconnectionStrategy', options.reconnectionStrategy)
    if (options.maxRetries !== undefined) fail('maxRetries', 'undefined when reconnectionStrategy is given', options.maxRetries)
    return options.reconnectionStrategy
  }
  const maxRetries = options.maxRetries ?? Infinity
  if (maxRetries !== Infinity) integer('maxRetries', maxRetries, 0, 0, Number.MAX_SAFE_INTEGER)
  return new ReconnectionStrategy({ maxRetries, initialBackoffMs: 1000, maxBackoffMs: DEFAULT_MAX_BACKOFF_MS })
}

/** Validates the options once, fills the defaults with `??`, and freezes the result. */
export function resolveOptions (options: DeviceClientOptions): ResolvedDeviceClientOptions {
  if (!plainObject(options)) fail('options', 'an object', options)
  const wsUrl = text('wsUrl', options.wsUrl)
  let url: URL | undefined
  try { url = new URL(wsUrl) } catch {}
  if (url === undefined || (url.protocol !== 'ws:' && url.protocol !== 'wss:')) fail('wsUrl', 'a ws:// or wss:// URL', url === undefined ? 'an invalid URL' : url.protocol)
  const heartbeatIntervalMs = integer('heartbeatIntervalMs', options.heartbeatIntervalMs, 20_000, 1)
  const headers = options.headers ?? {}
  if (!plainObject(headers) || Object.values(headers).some((v) => typeof v !== 'string')) fail('headers', 'an object of strings', headers)
  const customMetadata = options.customMetadata ?? {}
  if (!plainObject(customMetadata)) fail('customMetadata', 'an object', customMetadata)
  const features = options.supportedFeatures
  if (features !== undefined && (!Array.isArray(features) || features.some((f) => typeof f !== 'string'))) {
    fail('supportedFeatures', 'an array of strings', features)
  }
  const now = options.now ?? Date.now
  if (typeof now !== 'function') fail('now', 'a function', now)
  const earlyExit = options.earlyExit ?? true
  if (typeof earlyExit !== 'boolean') fail('earlyExit', 'a boolean', earlyExit)
  return Object.freeze({
    wsUrl,
    clientId: text('clientId', options.clientId),
    tools: tools(options.tools),
    executor: executor(options),
    platform: text('platform', options.platform, referencePlatform(os.platform())),
    namespace: text('namespace', options.namespace, 'aip'),
    reconnectionStrategy: strategy(options),
    heartbeatIntervalMs,
    telemetryIntervalMs: integer('telemetryIntervalMs', options.telemetryIntervalMs, 0, 0),
    maxMissedHeartbeats: integer('maxMissedHeartbeats', options.maxMissedHeartbeats, 3, 1, 1000),
    pingIntervalMs: integer('pingIntervalMs', options.pingIntervalMs, 10_000, 1),
    deadAfterMs: integer('deadAfterMs', options.deadAfterMs, 30_000, 1),
    timeoutMs: integer('timeoutMs', options.timeoutMs, 10_000, 1),
    toolTimeoutMs: integer('toolTimeoutMs', options.toolTimeoutMs, 60_000, 1),
    earlyExit,
    maxPendingResults: integer('maxPendingResults', options.maxPendingResults, 100, 0, Number.MAX_SAFE_INTEGER),
    pendingResultsTtlMs: integer('pendingResultsTtlMs', options.pendingResultsTtlMs, 300_000, 1),
    customMetadata: Object.freeze({ ...customMetadata }),
    supportedFeatures: features === undefined ? undefined : Object.freeze([...features]),
    headers: Object.freeze({ ...headers }),
    logger: logger(options.logger),
    now
  })
}
