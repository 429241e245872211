import {
  CheckedOption, Default, InstanceOption, InvalidOptionError, LoggerOption, Milliseconds, ReconnectionStrategy, describeValue,
  resolveOptions, type Logger
} from '@aip/resilience'
import { Type } from '@sinclair/typebox'

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

function plainObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

const NonEmpty = Type.String({ pattern: '\\S', expected: 'a non-empty string' })
const Strings = Type.Record(Type.String(), Type.String(), { expected: 'an object of strings' })

/** The schema of one server's settings (stdio and HTTP keys together; which one applies is checked after). */
const ServerSchema = Type.Object({
  toolType: Default(Type.Union([Type.Literal('action'), Type.Literal('data_collection')]), 'action'),
  timeoutMs: Type.Optional(Milliseconds({ min: 1 })),
  command: Type.Optional(NonEmpty),
  args: Default(Type.Array(Type.String(), { expected: 'an array of strings' }), []),
  env: Default(Strings, {}),
  cwd: Type.Optional(NonEmpty),
  url: Type.Optional(NonEmpty),
  headers: Default(Strings, {})
})

/** The schema of {@link McpExecutorOptions}, with its defaults. */
const McpExecutorOptionsSchema = Type.Object({
  servers: CheckedOption<Record<string, unknown>>('an object of MCP servers by name', plainObject),
  toolTimeoutMs: Milliseconds({ min: 1, default: 60_000 }),
  connectTimeoutMs: Milliseconds({ min: 1, default: 10_000 }),
  earlyExit: Default(Type.Boolean(), true),
  pingIntervalMs: Milliseconds({ min: 0, default: 15_000 }),
  reconnectionStrategy: Type.Optional(InstanceOption(ReconnectionStrategy)),
  clientInfo: Type.Object({ name: NonEmpty, version: NonEmpty }, { default: { name: 'aip-device', version: '1.0.0' } }),
  logger: LoggerOption()
})

function server (name: string, value: unknown): ResolvedServer {
  const at = `servers.${name}`
  if (!SERVER_NAME.test(name)) {
    throw new InvalidOptionError('servers', 'names of letters, digits, _ and - (a name is a namespace)', describeValue(name))
  }
  if (!plainObject(value)) throw new InvalidOptionError(at, 'an object with command or url', describeValue(value))
  const o = resolveOptions(ServerSchema, value, at)
  const common = { name, toolType: o.toolType, timeoutMs: o.timeoutMs }
  if (o.command !== undefined && o.url !== undefined) throw new InvalidOptionError(at, 'either command or url, not both', 'both')
  if (o.url !== undefined) {
    let url: URL | undefined
    try { url = new URL(o.url) } catch {}
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw new InvalidOptionError(`${at}.url`, 'an http:// or https:// URL', describeValue(o.url))
    }
    return Object.freeze({ kind: 'http', ...common, url, headers: o.headers })
  }
  if (o.command === undefined) throw new InvalidOptionError(`${at}.command`, 'a non-empty string', 'undefined')
  return Object.freeze({ kind: 'stdio', ...common, command: o.command, args: o.args, env: o.env, cwd: o.cwd })
}

/**
 * Validates the options once against their schema, fills the defaults and freezes the result.
 * @throws `AIP_ERR_INVALID_OPTION` naming the first bad option by its dotted path
 */
export function resolveExecutorOptions (options: McpExecutorOptions): ResolvedMcpExecutorOptions {
  const o = resolveOptions(McpExecutorOptionsSchema, options)
  const servers = Object.entries(o.servers).map(([name, config]) => server(name, config))
  return Object.freeze({
    servers: Object.freeze(servers),
    toolTimeoutMs: o.toolTimeoutMs,
    connectTimeoutMs: o.connectTimeoutMs,
    earlyExit: o.earlyExit,
    pingIntervalMs: o.pingIntervalMs,
    reconnectionStrategy: o.reconnectionStrategy ?? new ReconnectionStrategy({ maxRetries: Infinity, initialBackoffMs: 500, maxBackoffMs: 10_000 }),
    clientInfo: o.clientInfo,
    logger: o.logger
  })
}
