import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'tap'
import { InvalidConfigError, InvalidOptionError, McpExecutor, loadMcpConfig, parseMcpConfig, type McpExecutorOptions } from '../src/index.js'

test('options are validated once, with defaults, and frozen', async (t) => {
  const mcp = new McpExecutor({ servers: { a: { command: 'node', args: ['x.js'], env: { K: 'v' } }, b: { url: 'http://127.0.0.1:1/mcp', toolType: 'data_collection', timeoutMs: 5 } } })
  t.ok(Object.isFrozen(mcp.options))
  t.match(mcp.options, { toolTimeoutMs: 60_000, connectTimeoutMs: 10_000, earlyExit: true, pingIntervalMs: 15_000, clientInfo: { name: 'aip-device', version: '1.0.0' } })
  t.match(mcp.options.servers[0], { kind: 'stdio', name: 'a', command: 'node', args: ['x.js'], env: { K: 'v' }, toolType: 'action', timeoutMs: undefined })
  t.match(mcp.options.servers[1], { kind: 'http', name: 'b', toolType: 'data_collection', timeoutMs: 5 })
  t.same(mcp.servers().map((s) => [s.name, s.transport, s.status]), [['a', 'stdio', 'connecting'], ['b', 'http', 'connecting']])

  const bad: Array<[unknown, RegExp]> = [
    [null, /^options$/],
    [{}, /^servers$/],
    [{ servers: { 'a.b': { command: 'x' } } }, /^servers$/],
    [{ servers: { a: 1 } }, /^servers\.a$/],
    [{ servers: { a: { command: 'x', url: 'http://h' } } }, /^servers\.a$/],
    [{ servers: { a: { url: 'ftp://h' } } }, /^servers\.a\.url$/],
    [{ servers: { a: { url: 'not a url' } } }, /^servers\.a\.url$/],
    [{ servers: { a: { url: '' } } }, /^servers\.a\.url$/],
    [{ servers: { a: {} } }, /^servers\.a\.command$/],
    [{ servers: { a: { command: 'x', args: [1] } } }, /^servers\.a\.args/],
    [{ servers: { a: { command: 'x', env: { K: 1 } } } }, /^servers\.a\.env/],
    [{ servers: { a: { command: 'x', cwd: '' } } }, /^servers\.a\.cwd$/],
    [{ servers: { a: { command: 'x', toolType: 'other' } } }, /^servers\.a\.toolType$/],
    [{ servers: { a: { command: 'x', timeoutMs: 0 } } }, /^servers\.a\.timeoutMs$/],
    [{ servers: {}, toolTimeoutMs: 1.5 }, /^toolTimeoutMs$/],
    [{ servers: {}, pingIntervalMs: -1 }, /^pingIntervalMs$/],
    [{ servers: {}, earlyExit: 'yes' }, /^earlyExit$/],
    [{ servers: {}, reconnectionStrategy: {} }, /^reconnectionStrategy$/],
    [{ servers: {}, clientInfo: 'me' }, /^clientInfo$/],
    [{ servers: {}, clientInfo: { name: 'me' } }, /^clientInfo\.version$/],
    [{ servers: {}, logger: console.log }, /^logger$/]
  ]
  for (const [options, option] of bad) {
    t.throws(() => new McpExecutor(options as McpExecutorOptions), InvalidOptionError)
    t.throws(() => new McpExecutor(options as McpExecutorOptions), { code: 'AIP_ERR_INVALID_OPTION', option }, String(option))
  }
})

test('the common mcpServers file becomes the servers option', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'aip-mcp-config-'))
  const file = join(dir, 'mcp.json')
  writeFileSync(file, JSON.stringify({
    mcpServers: {
      files: { command: 'npx', args: ['-y', 'server'], env: { LOG: '1' }, description: 'ignored' },
      tickets: { type: 'streamable-http', url: 'http://127.0.0.1:9/mcp', headers: { k: 'v' }, toolType: 'data_collection' },
      old: { command: 'x', disabled: true }
    }
  }))
  t.same(await loadMcpConfig(file), {
    files: { command: 'npx', args: ['-y', 'server'], env: { LOG: '1' } },
    tickets: { url: 'http://127.0.0.1:9/mcp', headers: { k: 'v' }, toolType: 'data_collection' }
  })
  await t.rejects(loadMcpConfig(join(dir, 'missing.json')), { code: 'AIP_ERR_MCP_INVALID_CONFIG', message: /cannot be read/ })
  writeFileSync(file, '{ nope')
  await t.rejects(loadMcpConfig(file), { code: 'AIP_ERR_MCP_INVALID_CONFIG', message: /is not JSON/ })

  const bad: Array<[unknown, RegExp]> = [
    [[], /an "mcpServers" object/],
    [{ servers: {} }, /an "mcpServers" object/],
    [{ mcpServers: { a: 'x' } }, /mcpServers\.a is not an object/],
    [{ mcpServers: { a: { type: 'sse', url: 'http://h' } } }, /type "sse" is not supported/],
    [{ mcpServers: { a: { args: [] } } }, /mcpServers\.a needs a "command"/],
    [{ mcpServers: { a: { type: 'http' } } }, /mcpServers\.a needs a "url"/],
    [{ mcpServers: {} }, /no MCP server is configured/]
  ]
  for (const [value, message] of bad) {
    t.throws(() => parseMcpConfig(value), InvalidConfigError)
    t.throws(() => parseMcpConfig(value), message)
  }
})
