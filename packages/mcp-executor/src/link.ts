import { createInterface } from 'node:readline'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js'
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js'
import type { Logger } from '@aip/resilience'
import { ConnectError } from './errors.js'
import type { ResolvedServer } from './options.js'

/** The state of one MCP server, as the telemetry reports it. */
export type ServerStatus = 'connecting' | 'up' | 'down' | 'closed'

/** What a {@link ServerLink} needs from its executor. */
export interface LinkSettings {
  readonly clientInfo: { name: string, version: string }
  readonly connectTimeoutMs: number
  readonly pingIntervalMs: number
  readonly logger: Logger
  /** The connection ended without `close()`: the process died, a ping failed, a call lost its transport. */
  readonly onLost: (link: ServerLink, error: Error) => void
}

/** One MCP server: its client, its tools, its state. Connects once per `connect()`; the executor reconnects it. */
export class ServerLink {
  readonly config: ResolvedServer
  status: ServerStatus = 'connecting'
  /** The tools of the last successful listing (kept while the server is down, so its tools still route to it). */
  tools: readonly Tool[] = []
  /** Why the server is down, when it is. */
  lastError: string | null = null
  /** When the server last came up (ms since the epoch). */
  upSince: number | null = null
  readonly #settings: LinkSettings
  #client: Client | undefined
  #pinger: NodeJS.Timeout | undefined
  /** Connections made so far (1 after the first). */
  connections = 0

  constructor (config: ResolvedServer, settings: LinkSettings) {
    this.config = config
    this.#settings = settings
  }

  get name (): string {
    return this.config.name
  }

  /** Connects, initializes and lists the tools. Throws `AIP_ERR_MCP_CONNECT` (with the cause) on failure. */
  async connect (signal: AbortSignal): Promise<void> {
    if (this.status === 'closed') throw new ConnectError(this.name, 'the executor is closed')
    this.status = 'connecting'
    const client = new Client(this.#settings.clientInfo, { capabilities: {} })
    const transport = this.#transport()
    const timeout = AbortSignal.timeout(this.#settings.connectTimeoutMs)
    const both = AbortSignal.any([signal, timeout])
    try {
      await client.connect(transport, { signal: both, timeout: this.#settings.connectTimeoutMs })
      const tools: Tool[] = []
      let cursor: string | undefined
      for (let page = 0; page < 100; page++) {
        const listed = await client.listTools(cursor === undefined ? {} : { cursor }, { signal: both, timeout: this.#settings.connectTimeoutMs })
        tools.push(...listed.tools)
        cursor = listed.nextCursor
        if (cursor === undefined) break
      }
      if (this.#isClosed()) throw new Error('the executor is closed')
      this.tools = tools
    } catch (err) {
      await client.close().catch(() => {})
      const why = both.aborted && timeout.aborted ? `no answer within ${this.#settings.connectTimeoutMs} ms` : errorText(err)
      this.status = this.#isClosed() ? 'closed' : 'down'
      this.lastError = why
      throw new ConnectError(this.name, why, { cause: err })
    }
    this.#client = client
    this.connections++
    this.status = 'up'
    this.lastError = null
    this.upSince = Date.now()
    client.onclose = () => { this.#lost(client, new Error('the connection closed')) }
    this.#startPings(client)
  }

  /** Calls a tool. Rejects with what the SDK rejects with; the caller maps it to a Result. */
  async call (tool: string, args: Record<string, unknown>, signal: AbortSignal, timeoutMs: number): Promise<CallToolResult> {
    const client = this.#client
    if (client === undefined || this.status !== 'up') throw new Error(`MCP server '${this.name}' is not connected`)
    // Our own deadline aborts `signal` first; the SDK's is only a backstop.
    const result = await client.callTool({ name: tool, arguments: args }, undefined, { signal, timeout: timeoutMs + 1000 })
    return result as CallToolResult
  }

  /** Drops the current connection after a failure that says it is broken; the executor then reconnects. */
  fail (error: Error): void {
    if (this.#client !== undefined) this.#lost(this.#client, error)
  }

  /** Closes the connection for good (a stdio server's process is ended). */
  async close (): Promise<void> {
    this.status = 'closed'
    this.#stopPings()
    const client = this.#client
    this.#client = undefined
    if (client !== undefined) {
      client.onclose = undefined
      await client.close().catch(() => {})
    }
  }

  /** `close()` may run while `connect()` awaits: read the status afresh. */
  #isClosed (): boolean {
    return (this.status as ServerStatus) === 'closed'
  }

  #lost (client: Client, error: Error): void {
    if (this.#client !== client) return
    this.#client = undefined
    this.#stopPings()
    client.onclose = undefined
    client.close().catch(() => {})
    if (this.status === 'closed') return
    this.status = 'down'
    this.lastError = error.message
    this.upSince = null
    this.#settings.onLost(this, error)
  }

  #startPings (client: Client): void {
    const every = this.#settings.pingIntervalMs
    if (every === 0) return
    const tick = (): void => {
      client.ping({ timeout: Math.max(every, 1000) }).then(
        () => { if (this.#client === client) this.#pinger?.refresh() },
        (err: unknown) => { this.#lost(client, new Error(`ping failed: ${errorText(err)}`)) }
      )
    }
    this.#pinger = setTimeout(tick, every)
    this.#pinger.unref()
  }

  #stopPings (): void {
    clearTimeout(this.#pinger)
    this.#pinger = undefined
  }

  #transport (): Transport {
    const config = this.config
    if (config.kind === 'http') {
      return new StreamableHTTPClientTransport(config.url, { requestInit: { headers: { ...config.headers } } })
    }
    const transport = new StdioClientTransport({
      command: config.command,
      args: [...config.args],
      env: { ...config.env },
      ...(config.cwd === undefined ? {} : { cwd: config.cwd }),
      stderr: 'pipe'
    })
    const stderr = transport.stderr
    if (stderr !== null) {
      const lines = createInterface({ input: stderr as unknown as NodeJS.ReadableStream })
      lines.on('line', (line) => this.#settings.logger.info({ server: this.name, line }, 'MCP server stderr'))
    }
    return transport
  }
}

/** The text of an error, as a failure Result carries it. */
export function errorText (err: unknown): string {
  if (err instanceof Error) return err.message === '' ? err.name : err.message
  if (typeof err === 'string' && err !== '') return err
  return 'Unknown error'
}
