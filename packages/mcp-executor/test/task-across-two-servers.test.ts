import { test } from 'tap'
import type { MCPToolInfo, Result } from '@aip/protocol'
import { calcServer, executor, startFleet } from './helpers/fleet.js'
import { startNotesServer } from './helpers/http-server.js'

test('a task whose plan calls tools of a stdio and an HTTP MCP server completes end to end', async (t) => {
  const notes = await startNotesServer(t)
  const mcp = executor(t, { servers: { calc: calcServer(), notes: { url: notes.url, toolType: 'data_collection' } } })
  const { constellation, device } = await startFleet(t, mcp)
  t.same(mcp.servers().map((s) => [s.name, s.transport, s.status]), [['calc', 'stdio', 'up'], ['notes', 'http', 'up']])

  const plan = [
    { tool_name: 'add', parameters: { a: 2, b: 3 } },
    { tool_name: 'notes.add_note', parameters: { text: 'first' } },
    { tool_name: 'calc.divide', parameters: { a: 9, b: 3 } },
    { tool_name: 'list_notes', parameters: {} },
    { tool_name: 'calc.echo', parameters: { text: 'qualified' } }
  ]
  const end = await constellation.sendTaskToDevice('mcp-device', { request: JSON.stringify(plan), timeoutMs: 30_000 })
  t.equal(end.status, 'completed', 'the task completed')
  t.same(notes.notes, ['first'], 'the HTTP server ran its tool')
  const results = ((end.result as Array<{ result: Result[] }>)[0] as { result: Result[] }).result
  t.same(results.map((r) => [r.status, r.namespace, r.result]), [
    ['success', 'calc', '5'],
    ['success', 'notes', 'stored note 1'],
    ['success', 'calc', { quotient: 3 }],
    ['success', 'notes', { notes: ['first'] }],
    ['success', 'calc', 'qualified']
  ], 'each Command ran on its server: text results as text, structured results as objects')

  const listing = await constellation.sendTaskToDevice('mcp-device', {
    request: JSON.stringify([{ tool_name: 'list_tools', parameters: {}, tool_type: 'data_collection' }]), timeoutMs: 30_000
  })
  const tools = (((listing.result as Array<{ result: Result[] }>)[0] as { result: Result[] }).result[0] as Result).result as MCPToolInfo[]
  t.same(tools.map((info) => info.tool_key), [
    'calc.add', 'calc.divide', 'calc.whoami', 'calc.crash', 'calc.echo', 'notes.add_note', 'notes.list_notes', 'notes.echo', 'notes.wait'
  ], 'list_tools: every tool of every server, namespaced by server')
  const add = tools[0] as MCPToolInfo
  t.same(Object.keys(add), ['tool_key', 'tool_name', 'title', 'namespace', 'tool_type', 'description', 'input_schema', 'output_schema', 'meta', 'annotations'],
    'the reference MCPToolInfo fields, in order')
  t.match(add, { tool_name: 'add', title: 'Add', namespace: 'calc', tool_type: 'action', description: 'Adds two numbers', annotations: { readOnlyHint: true } })
  t.match(add.input_schema, { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } } })
  t.match(tools[5], { tool_key: 'notes.add_note', namespace: 'notes', tool_type: 'data_collection' })
  t.same(mcp.listTools({ namespace: 'notes', tool_type: 'action' }), [], 'filtered by namespace and tool_type')

  const ambiguous = await constellation.sendTaskToDevice('mcp-device', { request: JSON.stringify([{ tool_name: 'echo', parameters: { text: 'x' } }]), timeoutMs: 30_000 })
  t.equal(ambiguous.status, 'failed')
  t.equal(ambiguous.error, "Tool 'echo' is offered by several MCP servers (calc, notes): name it as <server>.<tool>")

  const info = await constellation.requestDeviceInfo('mcp-device') as { custom_metadata: Record<string, any>, supported_features: string[] }
  t.same(info.custom_metadata.mcp_servers, {
    calc: { transport: 'stdio', status: 'up', tools: 5, error: null },
    notes: { transport: 'http', status: 'up', tools: 4, error: null }
  }, 'the telemetry says which servers are up')
  t.ok(info.supported_features.includes('mcp'))
  t.equal(device.executor, mcp)
})
