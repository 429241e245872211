import { MAX_TIMER_MS, ReconnectionStrategy, silentLogger, type Logger } from '@aip/resilience'
import { InvalidOptionError } from './errors.js'

/** `tool_type` of the tools of a server, as `list_tools` reports and filters it. */
export type McpToolType = 'action' | 'data_collection'

/** Settings every kind of server shares. */
export interface McpServerCommon {
  /** `tool_type` of this server's tools. Default `'action'`. */
  toolType?: McpToolType
  /** Deadline of one tool call of this server; overrides the executor's `toolTimeoutMs`. */
  timeoutMs?: number
}

/** A local MCP server: a child process spoken to over its stdin and stdout. */
export interface McpStdioServer extends McpServerCommon {
  /** The executable. Required. */
  command: string
  /** Its arguments. Default `[]`. */
  args?: string[]
  /** Extra environment variables, added to the SDK's safe default environment (`PATH`, `HOME`...). Default `{}`. */
  env?: Record<string, string>
  /** Working directory of the process. Default: this process's. */
  cwd?: string
}

/** A remote MCP server, spoken to over Streamable HTTP. */
export interface McpHttpServer extends McpServerCommon {
  /** The server's MCP endpoint, `http://` or `https://`. Required. */
  url: string
  /** Extra HTTP headers of every request (an API key, for instance). Default `{}`. */
  headers?: Record<string, string>
}

/** One MCP server: `{ command, args, env }` (stdio) or `{ url }` (Streamable HTTP). */
export type McpServerConfig = McpStdioServer | McpHttpServer

/** Options of {@link McpExecutor}. */
export interface McpExecutorOptions {
  /** The MCP servers, by name; the name is the namespace of their tools (`tool_key` `<name>.<tool>`). Required. */
  servers: Record<string, McpServerConfig>
  /** Deadline of one tool call unless its server sets `timeoutMs`. Default 60000 ms. */
  toolTimeoutMs?: number
  /** Deadline of connecting to a server (process start or HTTP, and the MCP initialization). Default 10000 ms. */
  connectTimeoutMs?: number
  /** Skip the Commands after the first failure of a COMMAND (status `skipped`), as the reference does. Default true. */
  earlyExit?: boolean
  /** Interval of MCP pings to each connected server; a failed ping reconnects it. `0` turns pings off. Default 15000 ms. */
  pingIntervalMs?: number
  /**
   * Backoff between reconnection attempts of a server that died or could not be reached. Default
   * `new ReconnectionStrategy({ maxRetries: Infinity, initialBackoffMs: 500, maxBackoffMs: 10000 })`: servers are
   * retried for ever, with full jitter.
   */
  reconnectionStrategy?: ReconnectionStrategy
  /** `clientInfo` of the MCP initialization. Default `{ name: 'aip-device', version: '1.0.0' }`. */
  clientInfo?: { name: string, version: string }
  /** pino-compatible logger; also receives the stderr lines of stdio servers (at `info`). Default: silent. */
  logger?: Logger
}

/** What every resolved server has. */
interface ResolvedCommon {
  readonly name: string
  readonly toolType: McpToolType
  readonly timeoutMs: number | undefined
}

/** A stdio server's settings after validation. */
export interface ResolvedStdioServer extends ResolvedCommon {
  readonly kind: 'stdio'
  readonly command: string
  readonly args: readonly string[]
  readonly env: Readonly<Record<string, string>>
  readonly cwd: string | undefined
}

/** A Streamable HTTP server's settings after validation. */
export interface ResolvedHttpServer extends ResolvedCommon {
  readonly kind: 'http'
  readonly url: URL
  readonly headers: Readonly<Record<string, string>>
}

/** A server's settings after validation. */
export type ResolvedServer = ResolvedStdioServer | ResolvedHttpServer

/** The validated, frozen options. */
export interface ResolvedMcpExecutorOptions {
  readonly servers: readonly ResolvedServer[]
  readonly toolTimeoutMs: number
  readonly connectTimeoutMs: number
  readonly earlyExit: boolean
  readonly pingIntervalMs: number
  readonly reconnectionStrategy: ReconnectionStrategy
  readonly clientInfo: Readonly<{ name: string, version: string }>
  readonly logger: Logger
}

/** Server names are namespaces: letters, digits, `_` and `-`, so that `<name>.<tool>` splits at the first dot. */
const SERVER_NAME = /^[A-Za-z0-9_-]+$/

function describe (value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value)
  return Array.isArray(value) ? 'an array' : typeof value
}

function fail (name: string, expected: string, value: unknown): never {
  throw new InvalidOptionError(name, expected, describe(value))
}

function plainObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function integer (name: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > MAX_TIMER_MS) fail(name, `an integer from ${min} to ${MAX_TIMER_MS}`, value)
  return value
}

function text (name: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') fail(name, 'a non-empty string', value)
  return value
}

function strings (name: string, value: unknown): Record<string, string> {
  if (value === undefined) return {}
  if (!plainObject(value) || Object.values(value).some((v) => typeof v !== 'string')) fail(name, 'an object of strings', value)
  return { ...value } as Record<string, string>
}

function server (name: string, value: unknown): ResolvedServer {
  const at = `servers.${name}`
  if (!SERVER_NAME.test(name)) fail('servers', 'names of letters, digits, _ and - (a name is a namespace)', name)
  if (!plainObject(value)) fail(at, 'an object with command or url', value)
  const toolType = value.toolType ?? 'action'
  if (toolType !== 'action' && toolType !== 'data_collection') fail(`${at}.toolType`, "'action' or 'data_collection'", toolType)
  const timeoutMs = value.timeoutMs === undefined ? undefined : integer(`${at}.timeoutMs`, value.timeoutMs, 0, 1)
  const common = { name, toolType: toolType as McpToolType, timeoutMs }
  if (value.command !== undefined && value.url !== undefined) fail(at, 'either command or url, not both', value)
  if (value.url !== undefined) {
    let url: URL | undefined
    try { url = new URL(text(`${at}.url`, value.url)) } catch (err) { if ((err as { code?: string }).code === 'AIP_ERR_MCP_INVALID_OPTION') throw err }
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) fail(`${at}.url`, 'an http:// or https:// URL', value.url)
    return Object.freeze({ kind: 'http', ...common, url, headers: Object.freeze(strings(`${at}.headers`, value.headers)) })
  }
  const command = text(`${at}.command`, value.command)
  const args = value.args ?? []
  if (!Array.isArray(args) || args.some((a) => typeof a !== 'string')) fail(`${at}.args`, 'an array of strings', args)
  const cwd = value.cwd === undefined ? undefined : text(`${at}.cwd`, value.cwd)
  return Object.freeze({
    kind: 'stdio', ...common, command, args: Object.freeze([...args as string[]]), env: Object.freeze(strings(`${at}.env`, value.env)), cwd
  })
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

/** Validates the options once, fills the defaults with `??`, and freezes the result. */
export function resolveOptions (options: McpExecutorOptions): ResolvedMcpExecutorOptions {
  if (!plainObject(options)) fail('options', 'an object', options)
  if (!plainObject(options.servers)) fail('servers', 'an object of MCP servers by name', options.servers)
  const servers = Object.entries(options.servers).map(([name, config]) => server(name, config))
  const earlyExit = options.earlyExit ?? true
  if (typeof earlyExit !== 'boolean') fail('earlyExit', 'a boolean', earlyExit)
  const strategy = options.reconnectionStrategy ?? new ReconnectionStrategy({ maxRetries: Infinity, initialBackoffMs: 500, maxBackoffMs: 10_000 })
  if (!(strategy instanceof ReconnectionStrategy)) fail('reconnectionStrategy', 'a ReconnectionStrategy', strategy)
  const clientInfo = options.clientInfo ?? { name: 'aip-device', version: '1.0.0' }
  if (!plainObject(clientInfo)) fail('clientInfo', 'an object with name and version', clientInfo)
  return Object.freeze({
    servers: Object.freeze(servers),
    toolTimeoutMs: integer('toolTimeoutMs', options.toolTimeoutMs, 60_000, 1),
    connectTimeoutMs: integer('connectTimeoutMs', options.connectTimeoutMs, 10_000, 1),
    earlyExit,
    pingIntervalMs: integer('pingIntervalMs', options.pingIntervalMs, 15_000, 0),
    reconnectionStrategy: strategy,
    clientInfo: Object.freeze({ name: text('clientInfo.name', clientInfo.name), version: text('clientInfo.version', clientInfo.version) }),
    logger: logger(options.logger)
  })
}
