import { test } from 'tap'
import type { Agent } from '../src/index.js'
import { TOKEN, buildApp, echoDevice, listen, registeredDevice } from './helpers/harness.js'

// With upgrade: 'direct', a device connects over a real socket, registers and runs a task as on the route.

const agent: Agent = async (_task, context) => {
  await context.execute([{ tool_name: 'list_tools', parameters: {}, tool_type: 'data_collection' }])
  return { status: 'completed' }
}

test('with upgrade "direct" a device registers, runs a dispatched task, and is closed with 1001 on close', async (t) => {
  const app = await buildApp(t, { agent, token: TOKEN, upgrade: 'direct' })
  const { ws } = await listen(app)
  const device = await registeredDevice(t, `${ws}/ws?token=${TOKEN}`, 'direct-dev')
  echoDevice(device, 'direct-dev')
  t.ok(app.aip.isConnected('direct-dev'), 'the device is registered')
  t.equal(app.websocketServer.clients.size, 0, 'the socket is the endpoint\'s, not @fastify/websocket\'s')

  const record = await app.aip.tasks.dispatch('direct-dev', 'list the tools', { taskName: 'direct-task', timeoutMs: 5_000 })
  t.match(record, { status: 'completed', deviceId: 'direct-dev' }, 'the task ran to its TASK_END')

  await app.close()
  t.same(await device.closed, { code: 1001, reason: 'The server is shutting down' }, 'closed with going away')
  t.equal(app.server.listenerCount('upgrade'), 0, 'no upgrade listener is left behind')
})
