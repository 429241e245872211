import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { WebSocketServer, type WebSocket } from 'ws'
import { AIPProtocol } from '../src/protocol/index.js'
import { createLinkedTransports } from '../src/memory-transport.js'
import { receiveClose, receiveError, receiveFrame, type CloseInfo, type TransportReceiver } from '../src/transport.js'
import { WebSocketTransport, connectWebSocket } from '../src/ws-transport.js'

async function pair (t: { teardown: (fn: () => unknown) => void }): Promise<{ server: WebSocketTransport, client: WebSocketTransport, socket: WebSocket }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
  t.teardown(() => new Promise<void>((resolve) => {
    for (const client of wss.clients) client.terminate()
    wss.close(() => resolve())
  }))
  await once(wss, 'listening')
  const { port } = wss.address() as AddressInfo
  const accepted = new Promise<WebSocket>((resolve) => wss.on('connection', resolve))
  const client = await connectWebSocket(`ws://127.0.0.1:${port}/ws`)
  t.teardown(() => client.terminate())
  const socket = await accepted
  return { server: new WebSocketTransport(socket), client, socket }
}

function recorder (order: string[]): TransportReceiver {
  return {
    [receiveFrame]: (data) => { order.push(`receiver ${String(data)}`) },
    [receiveClose]: (info) => { order.push(`receiver close ${info.code}`) }
  }
}

t.test('a receiver gets each frame and the close before the listeners, the close once', async (t) => {
  const { server, client } = await pair(t)
  const order: string[] = []
  server.setReceiver(recorder(order))
  server.on('message', (data) => { order.push(`listener ${String(data)}`) })
  const closed = new Promise<CloseInfo>((resolve) => server.on('close', (info) => { order.push(`listener close ${info.code}`); resolve(info) }))
  await client.send('one')
  await client.send('two')
  await new Promise<void>((resolve) => { const off = server.on('message', (data) => { if (data === 'two') { off(); resolve() } }) })
  client.close(4000, 'bye')
  t.match(await closed, { code: 4000, reason: 'bye', local: false })
  t.same(order, ['receiver one', 'listener one', 'receiver two', 'listener two', 'receiver close 4000', 'listener close 4000'])
})

t.test('a protocol on a WebSocket transport is its receiver: it adds no listener to the transport or the socket', async (t) => {
  const { server, client, socket } = await pair(t)
  const before = ['message', 'close', 'error', 'pong'].map((event) => socket.listenerCount(event))
  const protocol = new AIPProtocol(server, { role: 'server', clock: () => 42 })
  t.same(['message', 'close', 'error', 'pong'].map((event) => socket.listenerCount(event)), before, 'the socket keeps its three shared listeners')
  const message = protocol.receive('heartbeat')
  await client.send(JSON.stringify({ type: 'heartbeat', status: 'ok', client_id: 'dev' }))
  t.match(await message, { type: 'heartbeat', client_id: 'dev' })
  t.equal(protocol.framesReceived, 1)
  t.equal(protocol.lastFrameAt, 42, 'the arrival is timed by the clock option')
  client.close(1000, 'done')
  t.match(await protocol.closed, { code: 1000, reason: 'done', local: false }, 'the close reaches the protocol through the receiver')
})

t.test('a transport without setReceiver is listened to; frames are counted, untimed without a clock', async (t) => {
  const [a, b] = createLinkedTransports()
  const protocol = new AIPProtocol(b, { role: 'server' })
  const message = protocol.receive('heartbeat')
  const invalid = new Promise((resolve) => protocol.on('invalidFrame', resolve))
  await a.send(JSON.stringify({ type: 'heartbeat', status: 'ok', client_id: 'dev' }))
  await a.send('not json')
  t.match(await message, { type: 'heartbeat' })
  await invalid
  t.equal(protocol.framesReceived, 2, 'an invalid frame counts as one received')
  t.equal(protocol.lastFrameAt, undefined)
  a.close(1000, 'end')
  t.match(await protocol.closed, { code: 1000 })
})

t.test('a receiver set after the close is dropped; setReceiver(null) stops the calls', async (t) => {
  const { server, client } = await pair(t)
  const order: string[] = []
  server.setReceiver(recorder(order))
  server.setReceiver(null)
  const got = new Promise<void>((resolve) => server.on('message', () => resolve()))
  await client.send('x')
  await got
  const closed = new Promise<void>((resolve) => server.on('close', () => resolve()))
  client.close()
  await closed
  server.setReceiver(recorder(order))
  t.same(order, [], 'neither receiver was called')
})

t.test('a transport error reaches the receiver before the listeners; a protocol logs it at debug level', async (t) => {
  const { server, client } = await pair(t)
  const order: string[] = []
  server.setReceiver({ ...recorder(order), [receiveError]: (err) => { order.push(`receiver error ${err.message}`) } })
  server.on('error', (err) => { order.push(`listener error ${err.message}`) })
  server.socket.emit('error', new Error('boom'))
  t.same(order, ['receiver error boom', 'listener error boom'])

  const lines: Array<{ obj: unknown, msg: unknown }> = []
  const log = (obj: unknown, msg: unknown): void => { lines.push({ obj, msg }) }
  const logger = { debug: log, info: () => {}, warn: () => {}, error: () => {}, child: () => logger }
  const protocol = new AIPProtocol(client, { role: 'client', logger: logger as never })
  client.socket.emit('error', new Error('bang'))
  t.match(lines, [{ msg: 'transport error', obj: { err: { message: 'bang' } } }])
  client.close()
  await protocol.closed
})
