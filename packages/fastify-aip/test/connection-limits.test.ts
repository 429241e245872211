import { connect, type Socket } from 'node:net'
import Fastify from 'fastify'
import { test } from 'tap'
import aipPlugin from '../src/index.js'

test('the connection limits are applied to the HTTP server, and left alone when turned off', async (t) => {
  const app = Fastify()
  await app.register(aipPlugin, { headersTimeoutMs: 1234, maxConnections: 77 })
  t.equal(app.server.headersTimeout, 1234)
  t.equal(app.server.maxConnections, 77)
  await app.close()
  const untouched = Fastify({ requestTimeout: 1000 })
  const before = { headersTimeout: untouched.server.headersTimeout, maxConnections: untouched.server.maxConnections }
  await untouched.register(aipPlugin, { headersTimeoutMs: null, maxConnections: null, maxConnectionsPerAddress: 0 })
  t.same({ headersTimeout: untouched.server.headersTimeout, maxConnections: untouched.server.maxConnections }, before)
  await untouched.close()
  const raised = Fastify({ requestTimeout: 500 })
  await raised.register(aipPlugin, { headersTimeoutMs: 2000 })
  t.equal(raised.server.requestTimeout, 2000, 'requestTimeout is raised to headersTimeout, as Node requires')
  await raised.close()
})

test('a connection that sends no request headers in time is closed; one over the per-address cap at once', async (t) => {
  const app = Fastify()
  await app.register(aipPlugin, { headersTimeoutMs: 200, maxConnectionsPerAddress: 1 })
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.close())
  const port = (app.server.address() as { port: number }).port
  const idle = connect({ host: '127.0.0.1', port })
  idle.on('error', () => {})
  await new Promise((resolve) => idle.once('connect', resolve))
  const over = connect({ host: '127.0.0.1', port })
  over.on('error', () => {})
  await new Promise((resolve) => over.once('close', resolve))
  t.pass('the second connection of the address was closed')
  await new Promise((resolve) => idle.once('close', resolve))
  t.pass('the idle one was closed after headersTimeoutMs')
})

test('with no first-request deadline and no per-address cap, the plugin watches no connection; with either, none keeps a listener of its own', async (t) => {
  const plain = Fastify()
  const baseline = plain.server.listenerCount('connection')
  await plain.close()
  const unwatched = Fastify()
  await unwatched.register(aipPlugin, { headersTimeoutMs: null, maxConnectionsPerAddress: 0 })
  t.equal(unwatched.server.listenerCount('connection'), baseline, 'no connection listener added')
  await unwatched.close()
  // Close listeners that are closures of their own socket (not shared with another socket), with and without the
  // plugin's watch: the watch adds none.
  const ownListeners = async (app: ReturnType<typeof Fastify>): Promise<number> => {
    const accepted: Socket[] = []
    const both = new Promise<void>((resolve) => {
      app.server.on('connection', (socket: Socket) => { if (accepted.push(socket) === 2) resolve() })
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    const { port } = app.server.address() as { port: number }
    const clients = [connect(port, '127.0.0.1'), connect(port, '127.0.0.1')]
    await both
    const [first, second] = accepted.map((socket) => socket.listeners('close')) as [unknown[], unknown[]]
    for (const client of clients) client.destroy()
    await app.close()
    return first.filter((listener) => !second.includes(listener)).length
  }
  const bare = await ownListeners(Fastify())
  const watched = Fastify()
  await watched.register(aipPlugin, { headersTimeoutMs: 5000, maxConnectionsPerAddress: 10 })
  t.equal(await ownListeners(watched), bare, 'no close listener of its own per socket')
})
