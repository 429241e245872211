import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'tap'
import { AipProcess, runAip } from './helpers/processes.js'

const SERVER = join(import.meta.dirname, 'fixtures', 'mcp-server.mjs')

test('aip device --mcp-config serves the tools of an MCP server to aip task, as real processes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'aip-cli-mcp-'))
  const config = join(dir, 'mcp.json')
  writeFileSync(config, JSON.stringify({ mcpServers: { greeter: { command: process.execPath, args: [SERVER] } } }))

  const serve = new AipProcess(t, ['serve', '--port', '0', '--token', 'mcp-token', '--agent', 'plan', '--json'])
  const { wsUrl } = JSON.parse(await serve.line('stdout', /^\{/)) as { wsUrl: string }
  const device = new AipProcess(t, ['device', '--url', wsUrl, '--id', 'mcp-box', '--mcp-config', config])
  t.match(await device.line('stderr', /MCP server greeter/), /device mcp-box: MCP server greeter up \(1 tools\)/)
  t.match(await device.line('stdout', /registered/), /device mcp-box registered; tools: greeter\.greet/)

  const done = await runAip(t, ['task', '--url', wsUrl, '--device', 'mcp-box', '--request', JSON.stringify([{ tool_name: 'greet', parameters: { name: 'Ada' } }]), '--json'])
  t.equal(done.code, 0, String(done.stderr))
  t.match(done.stdout, /hello, Ada/)

  const info = await runAip(t, ['info', '--url', wsUrl, '--device', 'mcp-box', '--json'])
  t.match(JSON.parse(info.stdout), { custom_metadata: { mcp_servers: { greeter: { status: 'up', transport: 'stdio', tools: 1 } } } })

  t.equal(await device.stop(), 0, 'the device and its MCP server stop on SIGINT')
  t.equal(await serve.stop(), 0)
})

test('aip device --mcp-config refuses a bad file and built-in tool options', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'aip-cli-mcp-'))
  const config = join(dir, 'mcp.json')
  writeFileSync(config, JSON.stringify({ servers: {} }))
  const bad = await runAip(t, ['device', '--url', 'ws://127.0.0.1:1/ws', '--id', 'x', '--mcp-config', config])
  t.equal(bad.code, 2)
  t.match(bad.stderr, /Invalid MCP configuration .*mcpServers/)
  const both = await runAip(t, ['device', '--url', 'ws://127.0.0.1:1/ws', '--id', 'x', '--mcp-config', config, '--allow-dir', '.'])
  t.equal(both.code, 2)
  t.match(both.stderr, /drop --allow-dir and --allow-command/)
})
