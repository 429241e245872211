import { randomUUID } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import { z } from 'zod'

/** The subset of tap's Test the helpers need. */
export interface Teardown { teardown: (fn: () => unknown) => void }

/** What the notes server saw of a `wait` call. */
export interface WaitCall {
  readonly label: string
  /** Resolves with the cancellation reason the server received when the client cancelled the call. */
  readonly cancelled: Promise<string>
}

/** A Streamable HTTP MCP server on 127.0.0.1 (stateful sessions), as a remote device tool server would be. */
export interface NotesServer {
  readonly url: string
  readonly port: number
  readonly notes: string[]
  /** Each `wait` call, as it starts. */
  readonly waits: WaitCall[]
  /** Resolves with the next `wait` call that starts. */
  nextWait: () => Promise<WaitCall>
  close: () => Promise<void>
}

function notesMcp (state: { notes: string[], onWait: (call: WaitCall) => void }): McpServer {
  const server = new McpServer({ name: 'notes', version: '1.0.0' })
  server.registerTool('add_note', {
    description: 'Stores a note',
    inputSchema: { text: z.string() }
  }, async ({ text }) => {
    state.notes.push(text)
    return { content: [{ type: 'text', text: `stored note ${state.notes.length}` }] }
  })
  server.registerTool('list_notes', { description: 'Lists the notes' }, async () => ({
    content: [{ type: 'text', text: JSON.stringify(state.notes) }],
    structuredContent: { notes: [...state.notes] }
  }))
  server.registerTool('echo', { description: 'Echoes its text', inputSchema: { text: z.string() } }, async ({ text }) => ({
    content: [{ type: 'text', text: `notes: ${text}` }]
  }))
  server.registerTool('wait', {
    description: 'Waits until the call is cancelled',
    inputSchema: { label: z.string() }
  }, async ({ label }, extra) => {
    const cancelled = new Promise<string>((resolve) => {
      extra.signal.addEventListener('abort', () => resolve(String(extra.signal.reason)), { once: true })
    })
    state.onWait({ label, cancelled })
    await cancelled
    return { content: [{ type: 'text', text: 'cancelled' }] }
  })
  return server
}

/** Starts the notes server on 127.0.0.1, port 0 unless given; closed at teardown. */
export async function startNotesServer (t: Teardown, port = 0): Promise<NotesServer> {
  const notes: string[] = []
  const waits: WaitCall[] = []
  const waiters: Array<(call: WaitCall) => void> = []
  const state = {
    notes,
    onWait: (call: WaitCall) => {
      waits.push(call)
      for (const waiter of waiters.splice(0)) waiter(call)
    }
  }
  const transports = new Map<string, StreamableHTTPServerTransport>()
  const http: Server = createServer((req, res) => {
    const id = req.headers['mcp-session-id']
    let transport = typeof id === 'string' ? transports.get(id) : undefined
    const ready = (async () => {
      if (transport === undefined) {
        const created = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (sessionId) => { transports.set(sessionId, created) }
        })
        created.onclose = () => { if (created.sessionId !== undefined) transports.delete(created.sessionId) }
        await notesMcp(state).connect(created)
        transport = created
      }
      await transport.handleRequest(req, res)
    })()
    ready.catch(() => { if (!res.headersSent) res.writeHead(500).end() })
  })
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject)
    http.listen(port, '127.0.0.1', () => resolve())
  })
  const bound = (http.address() as AddressInfo).port
  let closed: Promise<void> | undefined
  const close = (): Promise<void> => {
    closed ??= (async () => {
      for (const transport of transports.values()) await transport.close().catch(() => {})
      transports.clear()
      http.closeAllConnections()
      await new Promise<void>((resolve) => http.close(() => resolve()))
    })()
    return closed
  }
  t.teardown(close)
  return {
    url: `http://127.0.0.1:${bound}/mcp`,
    port: bound,
    notes,
    waits,
    nextWait: () => new Promise((resolve) => waiters.push(resolve)),
    close
  }
}
