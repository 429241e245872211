import { test } from 'tap'
import { ReconnectionStrategy } from '@aip/resilience'
import type { Result } from '@aip/protocol'
import { calcServer, executor, nextEvent, startFleet } from './helpers/fleet.js'

function results (end: { result: unknown }): Result[] {
  return ((end.result as Array<{ result: Result[] }>)[0] as { result: Result[] }).result
}

test('a stdio server that dies in the middle of a call gives a failure Result, is restarted and serves again', async (t) => {
  const mcp = executor(t, {
    servers: { calc: calcServer() },
    reconnectionStrategy: new ReconnectionStrategy({ maxRetries: Infinity, initialBackoffMs: 20, maxBackoffMs: 200 })
  })
  const { constellation } = await startFleet(t, mcp)
  const ask = (plan: unknown[]): Promise<{ status: string, error: string | null, result: unknown }> =>
    constellation.sendTaskToDevice('mcp-device', { request: JSON.stringify(plan), timeoutMs: 30_000 }) as Promise<{ status: string, error: string | null, result: unknown }>
  const before = results(await ask([{ tool_name: 'whoami', parameters: {} }]))[0]?.result

  const down = nextEvent(mcp, 'serverDown')
  const up = nextEvent(mcp, 'serverUp', (e) => e.connections === 2)
  const crashed = await ask([{ tool_name: 'crash', parameters: {} }, { tool_name: 'add', parameters: { a: 1, b: 1 } }])
  t.equal(crashed.status, 'failed', 'the task fails; it does not hang')
  t.same(results(crashed).map((r) => [r.status, r.namespace]), [['failure', 'calc'], ['skipped', null]])
  t.match(results(crashed)[0]?.error, /^MCP server 'calc' was lost during the call of 'crash': .*Connection closed/)
  t.match(await down, { server: 'calc' })

  t.equal((await up).server, 'calc', 'the server came back by itself')
  const after = results(await ask([{ tool_name: 'whoami', parameters: {} }, { tool_name: 'add', parameters: { a: 20, b: 22 } }]))
  t.same(after.map((r) => r.status), ['success', 'success'])
  t.not(after[0]?.result, before, 'a new process serves the calls')
  t.equal(after[1]?.result, '42')

  const info = await constellation.requestDeviceInfo('mcp-device') as { custom_metadata: Record<string, any> }
  t.match(info.custom_metadata.mcp_servers.calc, { status: 'up', error: null }, 'the telemetry says the server is up again')
})
