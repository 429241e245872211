import { test } from 'tap'
import type { Command } from '@aip/protocol'
import { ReconnectionStrategy, silentLogger } from '@aip/resilience'
import { calcServer, executor, nextEvent } from './helpers/fleet.js'
import { startNotesServer } from './helpers/http-server.js'

function context (signal = new AbortController().signal): { sessionId: string, clientId: string, signal: AbortSignal, logger: typeof silentLogger } {
  return { sessionId: 's1', clientId: 'dev', signal, logger: silentLogger }
}

function commands (...list: Array<[string, Record<string, unknown>?]>): Command[] {
  return list.map(([name, parameters], i) => ({ tool_name: name, parameters: parameters ?? {}, tool_type: 'action', call_id: `c${i}` }))
}

test('MCP results, MCP errors and routing problems become AIP Results', async (t) => {
  const notes = await startNotesServer(t)
  const slow = new ReconnectionStrategy({ maxRetries: Infinity, initialBackoffMs: 60_000, maxBackoffMs: 60_000 })
  const mcp = executor(t, {
    servers: { calc: calcServer(), notes: { url: notes.url }, gone: { url: 'http://127.0.0.1:9/mcp' } },
    earlyExit: false,
    reconnectionStrategy: slow
  })
  const down = nextEvent(mcp, 'serverDown', (e) => e.server === 'gone')
  const calls: string[] = []
  mcp.on('toolCall', ({ server, tool, status }) => calls.push(`${server}.${tool}:${status}`))
  await mcp.start()
  t.match((await down).error, /^Cannot connect to MCP server 'gone': /)
  t.match(mcp.servers()[2], { name: 'gone', status: 'down', tools: 0 })
  t.match(mcp.telemetry(), { customMetadata: { mcp_servers: { gone: { status: 'down', transport: 'http' } } }, supportedFeatures: ['mcp'] })

  const results = await mcp.execute(commands(
    ['divide', { a: 1, b: 0 }],
    ['calc.nope'],
    ['gone.anything'],
    ['missing'],
    [''],
    ['add', { a: 'one', b: 2 }],
    ['list_tools', { namespace: 'calc', tool_type: 'action' }],
    ['notes.list_notes']
  ), context())
  t.same(results.map((r) => r.call_id), ['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7'], 'one Result per Command, in order')
  t.same(results[0], { status: 'failure', error: 'division by zero', result: null, namespace: 'calc', call_id: 'c0' }, 'isError: a failure with the tool text')
  t.match(results[1], { status: 'failure', error: /nope/, namespace: 'calc' }, 'an unknown tool of a known server: the server says why')
  t.match(results[2], { status: 'failure', error: /^MCP server 'gone' is not connected \(.+\)$/, namespace: 'gone' })
  t.match(results[3], { status: 'failure', error: "Tool 'missing' is not offered by any MCP server", namespace: null })
  t.same(results[4], { status: 'success', error: '', result: 'No action taken.', namespace: null, call_id: 'c4' })
  t.match(results[5], { status: 'failure', namespace: 'calc' }, 'invalid arguments fail')
  t.same((results[6]?.result as Array<{ tool_key: string }>).map((i) => i.tool_key), ['calc.add', 'calc.divide', 'calc.whoami', 'calc.crash', 'calc.echo'])
  t.same(results[7], { status: 'success', error: null, result: { notes: [] }, namespace: 'notes', call_id: 'c7' })
  t.ok(calls.includes('calc.divide:failure') && calls.includes('notes.list_notes:success'), 'toolCall events')
})

test('early exit, an aborted COMMAND and a closed executor', async (t) => {
  const mcp = executor(t, { servers: { calc: calcServer() } })
  await mcp.start()
  t.equal(mcp.start(), mcp.start(), 'start() is idempotent')
  const early = await mcp.execute(commands(['add', { a: 1, b: 1 }], ['divide', { a: 1, b: 0 }], ['add', { a: 2, b: 2 }]), context())
  t.same(early.map((r) => [r.status, r.result ?? r.error]), [
    ['success', '2'], ['failure', 'division by zero'], ['skipped', 'Skipped due to previous failure (early_exit=True).']
  ])

  const controller = new AbortController()
  controller.abort(new Error('session ended'))
  const aborted = await mcp.execute(commands(['add', { a: 1, b: 1 }]), context(controller.signal))
  t.same(aborted.map((r) => [r.status, r.error]), [['failure', "Tool 'add' was not run: session ended"]])

  await mcp.close()
  t.same(mcp.servers().map((s) => s.status), ['closed'])
  t.same(mcp.telemetry().supportedFeatures, [])
  const closed = await mcp.execute(commands(['add', { a: 1, b: 1 }]), context())
  t.same(closed.map((r) => [r.status, r.error]), [['failure', 'The MCP executor is closed']])
  await t.rejects(mcp.start(), { code: 'AIP_ERR_MCP_CLOSED' })
  t.equal(await mcp.reconnectDevice('calc'), false, 'no reconnection after close()')
})
