import { Agent, get } from 'node:http'
import type { Socket } from 'node:net'
import Fastify from 'fastify'
import { test } from 'tap'
import aipPlugin from '../src/index.js'

/** The close listeners of the server's socket once a first request has arrived on it (kept alive). */
async function closeListenersAfterFirstRequest (app: ReturnType<typeof Fastify>): Promise<number> {
  app.get('/ping', async () => 'pong')
  let socket: Socket | undefined
  app.server.prependListener('request', (request: { socket: Socket }) => { socket = request.socket })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  await new Promise<void>((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/ping', agent }, (res) => { res.resume(); res.once('end', resolve) }).once('error', reject)
  })
  const count = (socket as Socket).listenerCount('close')
  agent.destroy()
  await app.close()
  return count
}

test('without a per-address cap, the first-request deadline leaves no listener on a socket once its first request came', async (t) => {
  const bare = await closeListenersAfterFirstRequest(Fastify())
  const watched = Fastify()
  await watched.register(aipPlugin, { headersTimeoutMs: 5000, maxConnectionsPerAddress: 0, http: false })
  t.equal(await closeListenersAfterFirstRequest(watched), bare, 'no close listener of the plugin left')
  const counted = Fastify()
  await counted.register(aipPlugin, { headersTimeoutMs: 5000, maxConnectionsPerAddress: 10, http: false })
  t.equal(await closeListenersAfterFirstRequest(counted), bare + 1, 'with the cap, the socket stays counted until it closes')
})
