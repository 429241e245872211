import { test } from 'tap'
import type { Command } from '@aip/protocol'
import { ReconnectionStrategy, silentLogger } from '@aip/resilience'
import { executor, nextEvent } from './helpers/fleet.js'
import { startNotesServer } from './helpers/http-server.js'

const context = { sessionId: 's1', clientId: 'dev', signal: new AbortController().signal, logger: silentLogger }
const note = (text: string): Command[] => [{ tool_name: 'add_note', parameters: { text }, tool_type: 'action', call_id: text }]

test('an HTTP server that goes away is noticed by its pings, and reconnected when it is back on its port', async (t) => {
  const first = await startNotesServer(t)
  const mcp = executor(t, {
    servers: { notes: { url: first.url } },
    pingIntervalMs: 50,
    reconnectionStrategy: new ReconnectionStrategy({ maxRetries: Infinity, initialBackoffMs: 20, maxBackoffMs: 100 })
  })
  await mcp.start()
  t.same((await mcp.execute(note('one'), context)).map((r) => r.status), ['success'])

  const down = nextEvent(mcp, 'serverDown')
  await first.close()
  t.match((await down).error, /ping failed/)
  const unavailable = await mcp.execute(note('two'), context)
  t.match(unavailable[0]?.error, /^MCP server 'notes' is not connected/)

  const up = nextEvent(mcp, 'serverUp', (e) => e.connections === 2)
  const second = await startNotesServer(t, first.port)
  await up
  t.same((await mcp.execute(note('three'), context)).map((r) => r.status), ['success'])
  t.same(second.notes, ['three'], 'the restarted server got the call')
})
