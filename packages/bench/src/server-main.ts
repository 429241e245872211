import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { startBaselineServer } from './baseline-server.js'
import { startRealServer } from './real-server.js'
import { registerBenchTracing } from './tracer.js'

// A benchmark server in its own process: `node --expose-gc server-main.js <real|baseline|real-metrics|real-tracing> <port>`. It answers
// the parent over IPC: `stats` (CPU, memory, registered clients, registrations per 100 ms), `gc`, `stop`.

export interface ServerStats {
  cpuMicros: number
  heapUsed: number
  rss: number
  registered: number
  /** Registrations per 100 ms bucket since the process started. */
  timeline: number[]
}

export type ServerRequest = { id: number, cmd: 'stats' | 'gc' | 'stop' }
export type ServerReply = { id: number, stats: ServerStats }

const kind = process.argv[2]
const port = Number(process.argv[3] ?? 0)
const started = performance.now()
const timeline: number[] = []

function onRegistered (): void {
  const bucket = Math.floor((performance.now() - started) / 100)
  timeline[bucket] = (timeline[bucket] ?? 0) + 1
}

function stats (registered: number): ServerStats {
  const cpu = process.cpuUsage()
  const memory = process.memoryUsage()
  return { cpuMicros: cpu.user + cpu.system, heapUsed: memory.heapUsed, rss: memory.rss, registered, timeline: Array.from(timeline, (n) => n ?? 0) }
}

async function main (): Promise<void> {
  let registered: () => number
  let close: () => Promise<void>
  let address: AddressInfo
  if (kind === 'baseline') {
    const http = createServer()
    const server = startBaselineServer(http, onRegistered)
    await new Promise<void>((resolve) => http.listen(port, '127.0.0.1', resolve))
    address = http.address() as AddressInfo
    registered = server.registered
    close = async () => { await server.close(); http.close() }
  } else if (kind === 'real' || kind === 'real-metrics' || kind === 'real-tracing') {
    // Registered before the server starts, as an application registers its SDK first.
    if (kind === 'real-tracing') registerBenchTracing()
    const server = await startRealServer(port, onRegistered, { metrics: kind === 'real-metrics' })
    address = server.address
    registered = server.registered
    close = server.close
  } else {
    throw new Error(`unknown server kind ${String(kind)}`)
  }
  process.on('message', (request: ServerRequest) => {
    if (request.cmd === 'gc') globalThis.gc?.()
    process.send?.({ id: request.id, stats: stats(registered()) } satisfies ServerReply)
    if (request.cmd === 'stop') {
      close().finally(() => process.exit(0))
    }
  })
  process.send?.({ ready: true, port: address.port })
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`)
  process.exit(1)
})
