import { LIST_TOOLS, SKIPPED_TEXT, type CommandExecutor, type ExecutionContext, type ExecutorTelemetry } from '@aip/device-client'
import type { Command, MCPToolInfo, Result } from '@aip/protocol'
import { TypedEmitter, type Logger, type ReconnectableEndpoint, type Unsubscribe } from '@aip/resilience'
import { McpError, ErrorCode, type CallToolResult, type Tool } from '@modelcontextprotocol/sdk/types.js'
import {
  AmbiguousToolError, ClosedError, ConnectionLostError, ServerUnavailableError, ToolTimeoutError, UnknownToolError
} from './errors.js'
import { ServerLink, errorText, type ServerStatus } from './link.js'
import { resolveExecutorOptions, type McpExecutorOptions, type ResolvedMcpExecutorOptions } from './options.js'

/** Events of an {@link McpExecutor}. */
export interface McpExecutorEvents {
  /** A server is connected and its tools are listed (also after a reconnection: `connections` > 1). */
  serverUp: { readonly server: string, readonly tools: number, readonly connections: number }
  /** A server could not be reached, or its connection ended; it is retried with the reconnection strategy. */
  serverDown: { readonly server: string, readonly error: string }
  /** A tool call ended (`status` is the Result's). */
  toolCall: { readonly server: string, readonly tool: string, readonly status: 'success' | 'failure', readonly error: string | null }
}

/** What the telemetry and {@link McpExecutor.servers} report of one server. */
export interface McpServerState {
  readonly name: string
  readonly transport: 'stdio' | 'http'
  readonly status: ServerStatus
  /** Tools of the last successful listing. */
  readonly tools: number
  /** Why it is down, when it is. */
  readonly error: string | null
}

/** The key of the executor's part of `custom_metadata`. */
export const TELEMETRY_KEY = 'mcp_servers'

/** The feature added to `supported_features` while at least one MCP server is up. */
export const MCP_FEATURE = 'mcp'

/**
 * A {@link CommandExecutor} whose tools are those of MCP servers (stdio child processes and Streamable HTTP
 * servers), as the UFO device's `Computer` has them. Pass it as the `executor` of a `DeviceClientEndpoint`;
 * `await start()` before the device starts, `await close()` after it stops.
 */
export class McpExecutor implements CommandExecutor, ReconnectableEndpoint {
  readonly options: ResolvedMcpExecutorOptions
  readonly #links = new Map<string, ServerLink>()
  readonly #events: TypedEmitter<McpExecutorEvents & { telemetry: Record<string, never> }>
  readonly #closing = new AbortController()
  readonly #log: Logger
  #started: Promise<void> | undefined
  #closed: Promise<void> | undefined

  constructor (options: McpExecutorOptions) {
    this.options = resolveExecutorOptions(options)
    const { logger } = this.options
    this.#log = typeof (logger as { child?: unknown }).child === 'function'
      ? (logger as Logger & { child: (b: object) => Logger }).child({ component: 'aip-mcp-executor' })
      : logger
    this.#events = new TypedEmitter((err, event) => this.#log.error({ err, event }, 'event listener threw'))
    for (const config of this.options.servers) {
      this.#links.set(config.name, new ServerLink(config, {
        clientInfo: this.options.clientInfo,
        connectTimeoutMs: this.options.connectTimeoutMs,
        pingIntervalMs: this.options.pingIntervalMs,
        logger: this.#log,
        onLost: (link, error) => this.#onLost(link, error)
      }))
    }
  }

  /** Subscribes to an event; returns the function that unsubscribes. */
  on<K extends keyof McpExecutorEvents>(event: K, listener: (payload: McpExecutorEvents[K]) => void): Unsubscribe {
    return this.#events.on(event, listener)
  }

  /**
   * Connects every server, in parallel. Resolves once each has connected or failed its first attempt; the ones that
   * failed are retried in the background (`serverUp` tells when they come). Calling it again returns the same
   * promise; after `close()` it rejects with `AIP_ERR_MCP_CLOSED`.
   */
  start (): Promise<void> {
    if (this.#closing.signal.aborted) return Promise.reject(new ClosedError())
    this.#started ??= Promise.all([...this.#links.values()].map(async (link) => {
      try {
        await this.#connect(link)
      } catch (err) {
        this.#onDown(link, errorText(err))
      }
    })).then(() => {})
    return this.#started
  }

  /** Stops reconnections and pings, closes every connection and ends every stdio server's process. */
  close (): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing.abort(new ClosedError())
      await Promise.all([...this.#links.values()].map((link) => link.close()))
      this.#telemetryChanged()
    })()
    return this.#closed
  }

  /** The state of every server, in configuration order. */
  servers (): McpServerState[] {
    return [...this.#links.values()].map((link) => Object.freeze({
      name: link.name,
      transport: link.config.kind,
      status: link.status,
      tools: link.tools.length,
      error: link.lastError
    }))
  }

  /** `custom_metadata.mcp_servers` (every server's state) and the `mcp` feature while a server is up. */
  telemetry (): ExecutorTelemetry {
    const servers: Record<string, unknown> = {}
    for (const state of this.servers()) {
      servers[state.name] = { transport: state.transport, status: state.status, tools: state.tools, error: state.error }
    }
    const up = [...this.#links.values()].some((link) => link.status === 'up')
    return { customMetadata: { [TELEMETRY_KEY]: servers }, supportedFeatures: up ? [MCP_FEATURE] : [] }
  }

  /** Called whenever a server goes up or down. */
  onTelemetryChange (listener: () => void): () => void {
    return this.#events.on('telemetry', () => listener())
  }

  /**
   * The reference's `list_tools(tool_type?, namespace?)`: one `MCPToolInfo` per tool of every server, in server
   * order (servers that are down keep the tools of their last listing), filtered by `tool_type` and `namespace`.
   */
  listTools (params: Record<string, unknown> = {}): MCPToolInfo[] {
    const toolType = typeof params.tool_type === 'string' ? params.tool_type : null
    const namespace = typeof params.namespace === 'string' ? params.namespace : null
    const infos: MCPToolInfo[] = []
    for (const link of this.#links.values()) {
      if (namespace !== null && namespace !== link.name) continue
      if (toolType !== null && toolType !== link.config.toolType) continue
      for (const tool of link.tools) infos.push(toolInfo(link, tool))
    }
    return infos
  }

  /** Runs the Commands in order, each on its server; one Result per Command; skips the rest after a failure (`earlyExit`). */
  async execute (commands: readonly Command[], context: ExecutionContext): Promise<Result[]> {
    const results: Result[] = []
    let failed = false
    for (const command of commands) {
      const callId = command.call_id ?? null
      if (this.options.earlyExit && failed) {
        results.push({ status: 'skipped', error: SKIPPED_TEXT, result: null, namespace: null, call_id: callId })
        continue
      }
      const result = await this.#run(command, context)
      if (result.status === 'failure') failed = true
      results.push(result)
    }
    return results
  }

  /** One reconnection attempt of a server, called by the `ReconnectionStrategy` (the server name is the id). */
  async reconnectDevice (server: string): Promise<boolean> {
    const link = this.#links.get(server)
    if (link === undefined || this.#closing.signal.aborted) return false
    await this.#connect(link)
    return true
  }

  async #connect (link: ServerLink): Promise<void> {
    await link.connect(this.#closing.signal)
    this.#log.info({ server: link.name, tools: link.tools.length, connections: link.connections }, 'MCP server up')
    this.#events.emit('serverUp', { server: link.name, tools: link.tools.length, connections: link.connections })
    this.#telemetryChanged()
  }

  #onLost (link: ServerLink, error: Error): void {
    this.#onDown(link, error.message)
  }

  #onDown (link: ServerLink, error: string): void {
    if (this.#closing.signal.aborted) return
    this.#log.warn({ server: link.name, error }, 'MCP server down')
    this.#events.emit('serverDown', { server: link.name, error })
    this.#telemetryChanged()
    this.options.reconnectionStrategy.attemptReconnection(this, link.name, { signal: this.#closing.signal })
      .then((back) => { if (!back) this.#log.error({ server: link.name }, 'MCP server given up') })
      .catch(() => { /* aborted by close() */ })
  }

  #telemetryChanged (): void {
    this.#events.emit('telemetry', {})
  }

  #route (name: string): { link: ServerLink, tool: string } | Error {
    const dot = name.indexOf('.')
    if (dot > 0) {
      const link = this.#links.get(name.slice(0, dot))
      if (link !== undefined) return { link, tool: name.slice(dot + 1) }
    }
    const owners = [...this.#links.values()].filter((link) => link.tools.some((tool) => tool.name === name))
    if (owners.length === 0) return new UnknownToolError(name)
    if (owners.length > 1) {
      const up = owners.filter((link) => link.status === 'up')
      if (up.length !== 1) return new AmbiguousToolError(name, owners.map((link) => link.name).join(', '))
      return { link: up[0] as ServerLink, tool: name }
    }
    return { link: owners[0] as ServerLink, tool: name }
  }

  async #run (command: Command, context: ExecutionContext): Promise<Result> {
    const callId = command.call_id ?? null
    const name = command.tool_name
    const params = command.parameters ?? {}
    const failure = (error: string, namespace: string | null): Result => ({ status: 'failure', error, result: null, namespace, call_id: callId })
    if (this.#closing.signal.aborted) return failure(new ClosedError().message, null)
    if (context.signal.aborted) return failure(`Tool '${name}' was not run: ${errorText(context.signal.reason)}`, null)
    if (name === '') return { status: 'success', error: '', result: 'No action taken.', namespace: null, call_id: callId }
    if (name === LIST_TOOLS) return { status: 'success', error: null, result: this.listTools(params), namespace: null, call_id: callId }
    const route = this.#route(name)
    if (route instanceof Error) {
      context.logger.warn({ toolName: name, callId, sessionId: context.sessionId }, route.message)
      return failure(route.message, null)
    }
    const { link, tool } = route
    if (link.status !== 'up') return failure(new ServerUnavailableError(link.name, link.lastError ?? link.status).message, link.name)
    const timeoutMs = link.config.timeoutMs ?? this.options.toolTimeoutMs
    const controller = new AbortController()
    const onAbort = (): void => controller.abort(context.signal.reason)
    context.signal.addEventListener('abort', onAbort, { once: true })
    const timer = setTimeout(() => controller.abort(new ToolTimeoutError(`${link.name}.${tool}`, timeoutMs)), timeoutMs)
    timer.unref()
    let result: Result
    try {
      const answer = await link.call(tool, params, controller.signal, timeoutMs)
      result = answer.isError === true
        ? failure(contentText(answer) ?? `Tool '${link.name}.${tool}' reported an error`, link.name)
        : { status: 'success', error: null, result: resultValue(answer), namespace: link.name, call_id: callId }
    } catch (err) {
      if (controller.signal.aborted) {
        result = failure(errorText(controller.signal.reason), link.name)
      } else if (brokenConnection(err)) {
        const lost = new ConnectionLostError(link.name, tool, errorText(err))
        link.fail(lost)
        result = failure(lost.message, link.name)
      } else {
        result = failure(errorText(err), link.name)
      }
      context.logger.warn({ err, server: link.name, toolName: tool, callId, sessionId: context.sessionId }, 'MCP tool call failed')
    } finally {
      clearTimeout(timer)
      context.signal.removeEventListener('abort', onAbort)
    }
    this.#events.emit('toolCall', { server: link.name, tool, status: result.status as 'success' | 'failure', error: result.error ?? null })
    return result
  }
}

/** An error that says the connection is broken, not that the server answered with an error. */
function brokenConnection (err: unknown): boolean {
  if (err instanceof McpError) return err.code === ErrorCode.ConnectionClosed
  return !(err instanceof Error && err.name === 'ZodError')
}

function toolInfo (link: ServerLink, tool: Tool): MCPToolInfo {
  const title = tool.title ?? tool.annotations?.title ?? null
  return {
    tool_key: `${link.name}.${tool.name}`,
    tool_name: tool.name,
    title: typeof title === 'string' ? title : null,
    namespace: link.name,
    tool_type: link.config.toolType,
    description: tool.description ?? null,
    input_schema: (tool.inputSchema as Record<string, unknown> | undefined) ?? null,
    output_schema: (tool.outputSchema as Record<string, unknown> | undefined) ?? null,
    meta: (tool._meta as Record<string, unknown> | undefined) ?? null,
    annotations: (tool.annotations as Record<string, unknown> | undefined) ?? null
  }
}

/** The text items of a result, joined by new lines, or `null` when it has none. */
function contentText (answer: CallToolResult): string | null {
  const texts = (answer.content ?? []).flatMap((item) => item.type === 'text' ? [item.text] : [])
  return texts.length === 0 ? null : texts.join('\n')
}

/** A successful result as the AIP Result carries it: `structuredContent`, else the text, else the content list. */
function resultValue (answer: CallToolResult): unknown {
  if (answer.structuredContent !== undefined) return answer.structuredContent
  const content = answer.content ?? []
  if (content.length > 0 && content.every((item) => item.type === 'text')) return contentText(answer)
  return content
}
