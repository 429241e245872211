import type { AddressInfo } from 'node:net'
import { test } from 'tap'
import { DeviceClientEndpoint } from '@aip/device-client'
import { buildApp } from '../src/app.js'

test('the app\'s own route runs a tool on a connected device through fastify.aip.tasks', async (t) => {
  const app = await buildApp({ token: 'secret' })
  t.teardown(() => app.close())
  await app.listen({ host: '127.0.0.1', port: 0 })
  const port = (app.server.address() as AddressInfo).port
  const device = new DeviceClientEndpoint({
    wsUrl: `ws://127.0.0.1:${port}/ws?token=secret`,
    clientId: 'laptop',
    platform: 'linux',
    tools: { uptime: { description: 'Seconds since boot', handler: () => ({ seconds: 42 }) } }
  })
  t.teardown(() => device.stop())
  await device.start()

  t.same((await app.inject({ method: 'GET', url: '/inventory' })).json(), { items: ['laptop', 'desktop'] }, 'the app\'s routes still work')
  t.same((await app.inject({ method: 'GET', url: '/devices' })).json(), { devices: [{ id: 'laptop', platform: 'linux' }] })

  const ran = await app.inject({ method: 'POST', url: '/devices/laptop/run', payload: { tool: 'uptime' } })
  t.equal(ran.statusCode, 200)
  t.match(ran.json(), { status: 'completed', result: { seconds: 42 }, error: null })

  const unknownTool = await app.inject({ method: 'POST', url: '/devices/laptop/run', payload: { tool: 'format_disk' } })
  t.match(unknownTool.json(), { status: 'failed' }, 'an unknown tool fails the task, and the route says so')
  t.equal((await app.inject({ method: 'POST', url: '/devices/nobody/run', payload: { tool: 'uptime' } })).statusCode, 404)
  t.equal((await app.inject({ method: 'POST', url: '/devices/laptop/run', payload: { nope: 1 } })).statusCode, 400)
})
