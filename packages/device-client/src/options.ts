import os from 'node:os'
import { MAX_SERVER_URLS } from '@aip/endpoint'
import {
  FunctionOption, InvalidOptionError, LoggerOption, Milliseconds, ReconnectionStrategy, describeValue,
  resolveOptions as resolveSchema, type Logger
} from '@aip/resilience'
import { Type } from '@sinclair/typebox'
import { referencePlatform } from './telemetry.js'
import type { CommandExecutor } from './executor.js'
import type { ToolSet } from './tools.js'

/** Cap of the default strategy's delays: after a long outage every device tries again within 10 s. */
const DEFAULT_MAX_BACKOFF_MS = 10_000

/** Options of {@link DeviceClientEndpoint}. */
export interface DeviceClientOptions {
  /**
   * The server's WebSocket URL, `ws://` or `wss://`, with `?token=` when the server wants one; or the URLs of the
   * nodes of one fleet (a cluster sharing its state), tried in turn: each (re)connection tries them one after the
   * other from the one after the server it lost or last failed on, and the reconnection strategy's backoff
   * separates full rounds. One URL also works behind a load balancer. Required.
   */
  wsUrl: string | readonly string[]
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
  /**
   * Ask the server for the continuity extension (`resume`, `cancel`, `deadline`: `metadata.aip_capabilities` of the
   * REGISTER) and apply what it grants: COMMANDs re-sent after a resume are recognised and never run twice, a
   * COMMAND's deadline aborts its tools. Default true. `false`: the REGISTER and every behaviour are the
   * reference's (a reference server grants nothing either way).
   */
  continuity?: boolean
  /** Most COMMAND_RESULTS kept to answer a re-sent COMMAND (continuity, `resume` granted). Default 256. */
  maxCachedResults?: number
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
  /** Default deadline of `sendWithTimeout` / `receiveWithTimeout`. Default 120000 ms. */
  defaultTimeoutMs?: number
}

/** The validated, frozen options. */
export interface ResolvedDeviceClientOptions {
  /** The first URL of {@link ResolvedDeviceClientOptions.wsUrls}. */
  readonly wsUrl: string
  /** Every server URL, in the order given (one when `wsUrl` is a string). */
  readonly wsUrls: readonly string[]
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
  readonly continuity: boolean
  readonly maxCachedResults: number
  readonly customMetadata: Readonly<Record<string, unknown>>
  readonly supportedFeatures: readonly string[] | undefined
  readonly headers: Readonly<Record<string, string>>
  readonly logger: Logger
  readonly now: () => number
  /** Default deadline of `sendWithTimeout` / `receiveWithTimeout` (the base endpoint's): 120000 ms. */
  readonly defaultTimeoutMs: number
}

const NonEmpty = (): ReturnType<typeof Type.String> => Type.String({ pattern: '\\S', expected: 'a non-empty string' })
const plainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

/** The schema of the plain options of {@link DeviceClientOptions}, with their defaults. */
const DeviceClientOptionsSchema = Type.Object({
  clientId: NonEmpty(),
  platform: Type.Optional(NonEmpty()),
  namespace: Type.String({ pattern: '\\S', expected: 'a non-empty string', default: 'aip' }),
  heartbeatIntervalMs: Milliseconds({ min: 1, default: 20_000 }),
  telemetryIntervalMs: Milliseconds({ min: 0, default: 0 }),
  maxMissedHeartbeats: Type.Integer({ minimum: 1, maximum: 1000, default: 3 }),
  pingIntervalMs: Milliseconds({ min: 1, default: 10_000 }),
  deadAfterMs: Milliseconds({ min: 1, default: 30_000 }),
  timeoutMs: Milliseconds({ min: 1, default: 10_000 }),
  toolTimeoutMs: Milliseconds({ min: 1, default: 60_000 }),
  defaultTimeoutMs: Milliseconds({ min: 1, default: 120_000 }),
  earlyExit: Type.Boolean({ default: true }),
  maxPendingResults: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 100 }),
  pendingResultsTtlMs: Milliseconds({ min: 1, default: 300_000 }),
  continuity: Type.Boolean({ default: true }),
  maxCachedResults: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 256 }),
  customMetadata: Type.Record(Type.String(), Type.Unknown(), { default: {}, expected: 'an object' }),
  supportedFeatures: Type.Optional(Type.Array(Type.String(), { expected: 'an array of strings' })),
  headers: Type.Record(Type.String(), Type.String(), { default: {}, expected: 'an object of strings' }),
  logger: LoggerOption(),
  now: FunctionOption<() => number>({ default: Date.now }),
  maxRetries: Type.Optional(Type.Union([Type.Integer({ minimum: 0 }), Type.Literal(Infinity)], { expected: 'an integer >= 0 or Infinity' }))
})

function fail (name: string, expected: string, value: unknown): never {
  throw new InvalidOptionError(name, expected, describeValue(value))
}

function tools (value: unknown): ToolSet {
  if (value === undefined) return Object.freeze({})
  if (!plainObject(value)) fail('tools', 'an object of tools by name', value)
  const result: Record<string, ToolSet[string]> = {}
  for (const [name, tool] of Object.entries(value)) {
    if (name.trim() === '') fail('tools', 'non-empty tool names', name)
    if (name === 'list_tools') fail(`tools.${name}`, 'another name (list_tools is built in)', name)
    if (!plainObject(tool) || typeof tool.handler !== 'function') fail(`tools.${name}`, 'an object with a handler function', tool)
    const timeoutMs = tool.timeoutMs
    if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < 1)) {
      fail(`tools.${name}.timeoutMs`, 'an integer number of ms >= 1', timeoutMs)
    }
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

/**
 * The `wsUrl` option as a list: one URL, or 1 to `MAX_SERVER_URLS` distinct ones, each `ws:` or `wss:`. A URL is
 * never described in the error: it may carry a token.
 */
function serverUrls (value: unknown): readonly string[] {
  const expected = `a ws:// or wss:// URL, or a list of 1 to ${MAX_SERVER_URLS} of them`
  if (typeof value !== 'string' && !Array.isArray(value)) fail('wsUrl', expected, value)
  const list: readonly unknown[] = typeof value === 'string' ? [value] : value
  if (list.length === 0 || list.length > MAX_SERVER_URLS) fail('wsUrl', expected, `a list of ${list.length}`)
  const seen = new Set<string>()
  list.forEach((item, index) => {
    const name = typeof value === 'string' ? 'wsUrl' : `wsUrl[${index}]`
    let url: URL | undefined
    try { url = typeof item === 'string' ? new URL(item) : undefined } catch {}
    if (url === undefined || (url.protocol !== 'ws:' && url.protocol !== 'wss:')) {
      fail(name, 'a ws:// or wss:// URL', typeof item !== 'string' ? typeof item : url === undefined ? 'an invalid URL' : url.protocol)
    }
    if (seen.has(url.href)) fail(name, 'a URL not already in the list', 'a duplicate')
    seen.add(url.href)
  })
  return Object.freeze([...list as string[]])
}

function strategy (options: DeviceClientOptions, maxRetries: number | undefined): ReconnectionStrategy {
  if (options.reconnectionStrategy !== undefined) {
    if (!(options.reconnectionStrategy instanceof ReconnectionStrategy)) fail('reconnectionStrategy', 'a ReconnectionStrategy', options.reconnectionStrategy)
    if (maxRetries !== undefined) fail('maxRetries', 'undefined when reconnectionStrategy is given', maxRetries)
    return options.reconnectionStrategy
  }
  return new ReconnectionStrategy({ maxRetries: maxRetries ?? Infinity, initialBackoffMs: 1000, maxBackoffMs: DEFAULT_MAX_BACKOFF_MS })
}

/** Validates the options once (`AIP_ERR_INVALID_OPTION`), fills the defaults, and freezes the result. */
export function resolveOptions (options: DeviceClientOptions): ResolvedDeviceClientOptions {
  if (!plainObject(options)) fail('options', 'an object', options)
  const wsUrls = serverUrls(options.wsUrl)
  const o = resolveSchema(DeviceClientOptionsSchema, options)
  return Object.freeze({
    wsUrl: wsUrls[0] as string,
    wsUrls,
    clientId: o.clientId,
    tools: tools(options.tools),
    executor: executor(options),
    platform: o.platform ?? referencePlatform(os.platform()),
    namespace: o.namespace,
    reconnectionStrategy: strategy(options, o.maxRetries),
    heartbeatIntervalMs: o.heartbeatIntervalMs,
    telemetryIntervalMs: o.telemetryIntervalMs,
    maxMissedHeartbeats: o.maxMissedHeartbeats,
    pingIntervalMs: o.pingIntervalMs,
    deadAfterMs: o.deadAfterMs,
    timeoutMs: o.timeoutMs,
    toolTimeoutMs: o.toolTimeoutMs,
    defaultTimeoutMs: o.defaultTimeoutMs,
    earlyExit: o.earlyExit,
    maxPendingResults: o.maxPendingResults,
    pendingResultsTtlMs: o.pendingResultsTtlMs,
    continuity: o.continuity,
    maxCachedResults: o.maxCachedResults,
    customMetadata: Object.freeze({ ...o.customMetadata }),
    supportedFeatures: o.supportedFeatures === undefined ? undefined : Object.freeze([...o.supportedFeatures]),
    headers: Object.freeze({ ...o.headers }),
    logger: o.logger,
    now: o.now
  })
}
