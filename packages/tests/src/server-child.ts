/**
 * A fastify-aip server in a child process, so that its RSS and heap are measured alone. Driven over IPC by
 * ServerProcess: `{ id, cmd: 'stats' | 'gc' | 'stop' }` answered with `{ id, stats }`; the first message is
 * `{ ready: true, port }`. Every uncaught exception and unhandled rejection is counted, never fatal.
 */
import { collectGarbage } from './report.js'
import { fuzzAgent } from './agents.js'
import { AipServer, testAgent } from './server.js'

export interface ServerStats {
  rss: number
  heapUsed: number
  uncaught: number
  unhandled: number
  connections: number
  sessions: number
  clients: number
  results: number
  errors: string[]
}

const errors: string[] = []
let uncaught = 0
let unhandled = 0
process.on('uncaughtException', (err) => { uncaught++; if (errors.length < 20) errors.push(`uncaught: ${err.stack ?? String(err)}`) })
process.on('unhandledRejection', (err) => { unhandled++; if (errors.length < 20) errors.push(`unhandled: ${(err as Error)?.stack ?? String(err)}`) })

const config = JSON.parse(process.argv[2] ?? '{}') as Record<string, unknown> & { agent?: 'fuzz' | 'test' }
const server = await AipServer.start({ ...config, agent: config.agent === 'fuzz' ? fuzzAgent : testAgent })

function stats (): ServerStats {
  const memory = process.memoryUsage()
  return {
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    uncaught,
    unhandled,
    connections: server.aip.connectionCount,
    sessions: server.aip.sessionCount,
    clients: server.aip.listClients().length,
    results: server.aip.options.results.size,
    errors: [...errors]
  }
}

process.on('message', (message: { id: number, cmd: 'stats' | 'gc' | 'stop' }) => {
  if (message.cmd === 'gc') {
    collectGarbage()
    collectGarbage()
  }
  if (message.cmd === 'stop') {
    server.close().then(() => { process.send?.({ id: message.id, stats: stats() }); process.disconnect() }, () => process.exit(1))
    return
  }
  process.send?.({ id: message.id, stats: stats() })
})
process.send?.({ ready: true, port: server.port })
