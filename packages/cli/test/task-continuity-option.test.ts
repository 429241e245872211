import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { DeviceServerEndpoint } from '@aip/device-server'
import { test } from 'tap'
import { main, type Io } from '../src/index.js'

function io (): Io & { out: string, err: string } {
  const captured = { out: '', err: '' }
  return Object.assign(captured, {
    stdout: (text: string) => { captured.out += text },
    stderr: (text: string) => { captured.err += text },
    interrupted: new Promise<string>(() => {}),
    env: {}
  })
}

test('aip task asks the server for task continuity in its REGISTER; --no-continuity sends the reference REGISTER', async (t) => {
  const endpoint = new DeviceServerEndpoint({ pingIntervalMs: 0 })
  const registers: Array<Record<string, unknown> | null> = []
  endpoint.use({
    name: 'registers',
    onReceive: (message) => {
      if (message.type === 'register') registers.push((message as { metadata: Record<string, unknown> | null }).metadata)
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
  const url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/ws`
  // No device is connected: the registration is refused, after the server read the REGISTER.
  const asked = io()
  t.not(await main(['task', '--url', url, '--device', 'nobody', '--request', 'echo'], asked), 0)
  const plain = io()
  t.not(await main(['task', '--url', url, '--device', 'nobody', '--request', 'echo', '--no-continuity'], plain), 0)
  t.equal(registers.length, 2)
  t.same(registers[0]?.aip_capabilities, ['resume', 'cancel', 'deadline'])
  t.same(Object.keys(registers[1] ?? {}), ['type', 'task_name', 'targeted_device_id', 'capabilities', 'version'])
})
