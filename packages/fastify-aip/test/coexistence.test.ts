import websocket from '@fastify/websocket'
import Fastify, { type FastifyInstance } from 'fastify'
import { test } from 'tap'
import { aipPlugin } from '../src/index.js'
import { injectedDevice, listen, registeredDevice, TestClient } from './helpers/harness.js'

// The plugin inside a real app: an app that registered @fastify/websocket itself (with its own WebSocket route),
// other HTTP routes, and two plugin instances in sibling encapsulated contexts.

test('coexists with an app-registered @fastify/websocket, its own WebSocket route and other routes', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(websocket)
  app.get('/echo', { websocket: true }, (socket) => {
    socket.on('message', (data) => socket.send(`echo:${data.toString()}`))
  })
  app.get('/hello', async () => ({ hello: 'world' }))
  await app.register(aipPlugin, { pingIntervalMs: 0, path: '/agents' })
  const { ws } = await listen(app)

  t.same((await app.inject({ method: 'GET', url: '/hello' })).json(), { hello: 'world' }, 'other routes answer')
  const echo = await TestClient.connect(t, `${ws}/echo`)
  t.equal(await echo.ask('hi'), 'echo:hi', 'the app\'s own WebSocket route works')
  const device = await registeredDevice(t, `${ws}/agents`, 'co-dev')
  t.ok(device, 'a device registers on the plugin path')
  t.ok(app.aip.isConnected('co-dev'))
  t.equal(app.websocketServer.clients.size, 1, 'the endpoint owns its sockets; only the echo socket is the app\'s')
  await app.close()
  t.equal((await device.closed).code, 1001, 'device socket closed with going away')
  t.ok([1000, 1005].includes((await echo.closed).code), 'the app\'s socket closed by @fastify/websocket')
})

test('two plugin instances in sibling encapsulated contexts, each with its own path, decorator and state', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  // With more than one instance, @fastify/websocket goes to the root first (one upgrade listener per server).
  await app.register(websocket)
  await app.register(async (child) => {
    await child.register(aipPlugin, { pingIntervalMs: 0, path: '/a/ws', apiKey: 'key-a', prefix: '/a/api' })
    child.get('/a/count', async () => ({ clients: child.aip.listClients().length }))
  })
  await app.register(async (child) => {
    await child.register(aipPlugin, { pingIntervalMs: 0, path: '/b/ws', apiKey: 'key-b', prefix: '/b/api' })
    child.get('/b/count', async () => ({ clients: child.aip.listClients().length }))
  })
  await app.ready()
  t.notOk(app.hasDecorator('aip'), 'the root has no aip: each instance stays in its context')
  await injectedDevice(t, app, '/a/ws', 'dev-a')
  t.same((await app.inject('/a/count')).json(), { clients: 1 })
  t.same((await app.inject('/b/count')).json(), { clients: 0 }, 'the other instance does not see it')
  const health = await app.inject({ method: 'GET', url: '/b/api/health', headers: { 'x-api-key': 'key-b' } })
  t.same(health.json(), { status: 'healthy', online_clients: [] })
  const wrongKey = await app.inject({ method: 'GET', url: '/b/api/health', headers: { 'x-api-key': 'key-a' } })
  t.equal(wrongKey.statusCode, 401, 'each instance checks its own key')
})

test('registering twice in one context fails with a coded error', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(aipPlugin, { pingIntervalMs: 0 })
  app.register(aipPlugin, { pingIntervalMs: 0, path: '/ws2' })
  await t.rejects(async () => { await app.ready() }, { code: 'AIP_ERR_FASTIFY_ALREADY_REGISTERED' })
})

test('the plugin honours an enclosing register prefix', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  let inner!: FastifyInstance
  await app.register(async (child) => {
    await child.register(aipPlugin, { pingIntervalMs: 0 })
    inner = child
  }, { prefix: '/v1' })
  await app.ready()
  // @fastify/websocket was registered by the plugin in the child context: injectWS lives there.
  await injectedDevice(t, inner, '/v1/ws', 'dev-v1')
  t.ok(inner.aip.isConnected('dev-v1'))
  t.equal((await app.inject('/v1/api/live')).statusCode, 200)
})
