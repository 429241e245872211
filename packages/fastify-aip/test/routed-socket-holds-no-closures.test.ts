import Fastify from 'fastify'
import { test } from 'tap'
import type { WebSocket } from 'ws'
import { aipPlugin } from '../src/index.js'
import { TOKEN, listen, logCapture, registeredDevice } from './helpers/harness.js'

// With upgrade: 'route', a socket upgraded through Fastify keeps nothing per socket of the route: not `ws`'s
// client-tracking 'close' closure (the endpoint owns the socket), not an 'error' closure over the request and reply.

test('a routed socket keeps no client-tracking closure and shares one error listener with every other', async (t) => {
  const logs = logCapture()
  const app = Fastify({ logger: { level: 'info', stream: logs.stream } })
  t.teardown(() => app.close())
  await app.register(aipPlugin, { token: TOKEN, pingIntervalMs: 0, upgrade: 'route' })
  const sockets: WebSocket[] = []
  app.websocketServer.on('connection', (socket: WebSocket) => { sockets.push(socket) })
  const { ws } = await listen(app)

  await registeredDevice(t, `${ws}/ws?token=${TOKEN}`, 'routed-1')
  await registeredDevice(t, `${ws}/ws?token=${TOKEN}`, 'routed-2')
  t.equal(sockets.length, 2)
  const [first, second] = sockets as [WebSocket, WebSocket]
  t.equal(app.websocketServer.clients.size, 0, 'the ws server tracks none of them')
  t.equal(first.listenerCount('close'), 1, 'one close listener: the endpoint transport\'s')
  t.same(first.listeners('close'), second.listeners('close'), 'the same function for every socket')
  t.same(first.listeners('error'), second.listeners('error'), 'the same error listeners for every socket: no closure per socket')

  // An error on the socket does what @fastify/websocket's default handler does: logged, then the socket ends.
  const gone = new Promise<string>((resolve) => app.aip.on('clientDisconnected', ({ clientId }) => { resolve(clientId) }))
  const closed = new Promise((resolve) => first.once('close', resolve))
  first.emit('error', new Error('socket broke'))
  await closed
  t.ok(logs.lines.some((line) => line.level === 50 && line.msg === 'socket broke'), 'the error is logged')
  t.equal(await gone, 'routed-1')
  t.ok(app.aip.isConnected('routed-2'), 'the other socket is untouched')
})
