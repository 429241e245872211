import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'tap'
import { DeviceServerEndpoint } from '@aip/device-server'
import { AipProcess } from './helpers/processes.js'

test('aip device asks for the continuity extension and prints its executions with --json; --no-continuity sends the reference REGISTER', async (t) => {
  const endpoint = new DeviceServerEndpoint({
    pingIntervalMs: 0,
    agent: async (_task, ctx) => {
      await ctx.execute([{ tool_name: 'echo', parameters: { n: 1 }, tool_type: 'action', call_id: 'c1' }], { timeoutMs: 10_000 })
      return { status: 'completed' }
    }
  })
  const registers = new Map<string, Record<string, unknown>>()
  endpoint.use({
    onReceive: (message) => {
      const frame = message as { type: string, client_id?: string | null, metadata?: Record<string, unknown> | null }
      if (frame.type === 'register' && typeof frame.client_id === 'string') registers.set(frame.client_id, frame.metadata ?? {})
    }
  })
  const http = createServer((_req, res) => { res.statusCode = 404; res.end() })
  const detach = endpoint.attach(http)
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', () => resolve()))
  t.teardown(async () => {
    await endpoint.stop()
    detach()
    http.closeAllConnections()
    await new Promise<void>((resolve) => http.close(() => resolve()))
  })
  const wsUrl = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/ws`

  const asking = new AipProcess(t, ['device', '--url', wsUrl, '--id', 'asks', '--platform', 'linux', '--json'])
  const plain = new AipProcess(t, ['device', '--url', wsUrl, '--id', 'plain', '--platform', 'linux', '--no-continuity'])
  await asking.line('stdout', /device asks registered/)
  await plain.line('stdout', /device plain registered/)
  t.same(registers.get('asks')?.aip_capabilities, ['resume', 'cancel', 'deadline'])
  t.same(Object.keys(registers.get('plain') ?? {}), ['system_info', 'registration_time', 'platform'], 'the reference metadata keys only')
  const record = await (await endpoint.dispatch('asks', 'echo')).done
  t.equal(record.status, 'completed')
  const executed = JSON.parse(await asking.line('stdout', /"command":"executed"/)) as Record<string, unknown>
  t.match(executed, { device: 'asks', command: 'executed', sessionId: record.sessionId, resent: false }, '--json prints each execution')
  t.type(executed.responseId, 'string')
  t.equal(await asking.stop(), 0)
  t.equal(await plain.stop(), 0)
})
