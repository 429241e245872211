import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import WebSocket, { WebSocketServer } from 'ws'
import { WebSocketTransport, connectWebSocket, truncateReason } from '../src/ws-transport.js'

async function server (t: { teardown: (fn: () => unknown) => void }, options: ConstructorParameters<typeof WebSocketServer>[0] = {}): Promise<{ wss: WebSocketServer, url: string }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', ...options })
  t.teardown(() => new Promise<void>((resolve) => {
    for (const client of wss.clients) client.terminate()
    wss.close(() => resolve())
  }))
  await once(wss, 'listening')
  const { port } = wss.address() as AddressInfo
  return { wss, url: `ws://127.0.0.1:${port}/ws` }
}

t.test('text and binary frames round-trip as strings and Buffers', async (t) => {
  const { wss, url } = await server(t)
  wss.on('connection', (socket) => {
    const peer = new WebSocketTransport(socket)
    peer.on('message', (frame) => { peer.send(typeof frame === 'string' ? `echo ${frame}` : frame).catch(() => {}) })
  })
  const transport = await connectWebSocket(url)
  t.teardown(() => transport.terminate())
  t.equal(transport.isOpen, true)
  t.equal(transport.bufferedAmount, 0)
  const frames: Array<string | Buffer> = []
  const two = new Promise<void>((resolve) => transport.on('message', (f) => { if (frames.push(f) === 2) resolve() }))
  await transport.send('hi')
  await transport.send(new Uint8Array([7, 8]))
  await two
  t.same(frames, ['echo hi', Buffer.from([7, 8])])
})

t.test('close sends a close frame with code and reason; both sides see it', async (t) => {
  const { wss, url } = await server(t)
  const serverSide = new Promise<WebSocketTransport>((resolve) => wss.on('connection', (s) => resolve(new WebSocketTransport(s))))
  const transport = await connectWebSocket(url)
  const peer = await serverSide
  const peerClosed = new Promise((resolve) => peer.on('close', resolve))
  const closed = new Promise((resolve) => transport.on('close', resolve))
  transport.close(4002, 'x'.repeat(200))
  transport.close()
  t.equal(transport.isOpen, false)
  t.same(await closed, { code: 4002, reason: 'x'.repeat(123), local: true })
  t.same(await peerClosed, { code: 4002, reason: 'x'.repeat(123), local: false })
  await t.rejects(transport.send('late'), { code: 'AIP_ERR_ENDPOINT_TRANSPORT_CLOSED' })
  transport.terminate()
})

t.test('an invalid close code falls back to dropping the connection', async (t) => {
  const { url } = await server(t)
  const transport = await connectWebSocket(url)
  const closed = new Promise<{ code: number }>((resolve) => transport.on('close', resolve))
  transport.close(999)
  t.equal((await closed).code, 1006)
})

t.test('terminate drops the connection: the peer sees 1006', async (t) => {
  const { wss, url } = await server(t)
  const serverSide = new Promise<WebSocketTransport>((resolve) => wss.on('connection', (s) => resolve(new WebSocketTransport(s))))
  const transport = await connectWebSocket(url)
  const peer = await serverSide
  const peerClosed = new Promise<{ code: number }>((resolve) => peer.on('close', resolve))
  transport.terminate()
  transport.terminate()
  t.equal((await peerClosed).code, 1006)
})

t.test('ping is answered with a pong event', async (t) => {
  const { url } = await server(t)
  const transport = await connectWebSocket(url)
  t.teardown(() => transport.terminate())
  const pong = new Promise((resolve) => transport.on('pong', resolve))
  transport.ping()
  await pong
})

t.test('a refused upgrade rejects with the connect code and the HTTP status, without the token', async (t) => {
  const { url } = await server(t, { verifyClient: (_info, done) => done(false, 403, 'Forbidden') })
  const error = await connectWebSocket(`${url}?token=secret`).catch((err: unknown) => err) as { code: string, httpStatus: number, message: string }
  t.equal(error.code, 'AIP_ERR_ENDPOINT_CONNECT')
  t.equal(error.httpStatus, 403)
  t.notMatch(error.message, /secret/)
})

t.test('a connection that cannot be made rejects with the connect code and no status', async (t) => {
  const { wss, url } = await server(t)
  await new Promise((resolve) => wss.close(resolve))
  const error = await connectWebSocket(url).catch((err: unknown) => err) as { code: string, httpStatus: undefined }
  t.equal(error.code, 'AIP_ERR_ENDPOINT_CONNECT')
  t.equal(error.httpStatus, undefined)
})

t.test('an aborted connect rejects with the connect code, before or during the handshake', async (t) => {
  const { url } = await server(t)
  const before = new AbortController()
  before.abort()
  await t.rejects(connectWebSocket(url, { signal: before.signal }), { code: 'AIP_ERR_ENDPOINT_CONNECT', reason: 'aborted' })
  const during = new AbortController()
  const pending = connectWebSocket(url, { signal: during.signal })
  during.abort()
  await t.rejects(pending, { code: 'AIP_ERR_ENDPOINT_CONNECT', reason: 'aborted' })
})

t.test('a transport over a socket that is already closed reports a close at once', async (t) => {
  const { url } = await server(t)
  const socket = new WebSocket(url)
  await once(socket, 'open')
  socket.terminate()
  await once(socket, 'close')
  const transport = new WebSocketTransport(socket)
  const closed = new Promise<{ code: number }>((resolve) => transport.on('close', resolve))
  t.equal((await closed).code, 1006)
  t.equal(transport.isOpen, false)
  transport.ping()
})

t.test('transport errors are emitted as error events', async (t) => {
  const { url } = await server(t)
  const transport = await connectWebSocket(url)
  const error = new Promise<Error>((resolve) => transport.on('error', resolve))
  transport.socket.emit('error', new Error('boom'))
  t.equal((await error).message, 'boom')
  transport.terminate()
})

t.test('truncateReason keeps at most 123 bytes and never splits a character', async (t) => {
  t.equal(truncateReason('short'), 'short')
  const cut = truncateReason('é'.repeat(100))
  t.ok(Buffer.byteLength(cut) <= 123)
  t.equal(cut, 'é'.repeat(61))
})

t.test('post() sends without a promise; listeners keep the emitter rules: order, once per listener, isolation', async (t) => {
  const { wss, url } = await server(t)
  wss.on('connection', (socket) => {
    const peer = new WebSocketTransport(socket)
    peer.on('message', (frame) => { peer.post(`echo ${String(frame)}`, () => {}) })
  })
  const transport = await connectWebSocket(url)
  const calls: string[] = []
  const second = (frame: string | Buffer): void => { calls.push(`second ${String(frame)}`) }
  const got = new Promise<void>((resolve) => transport.on('message', () => resolve()))
  const stopFirst = transport.on('message', () => { calls.push('first'); throw new Error('ignored') })
  transport.on('message', second)
  transport.on('message', second)
  const failures: Error[] = []
  t.equal(transport.post(new Uint8Array([1]), (err) => failures.push(err)), true)
  t.equal(transport.post('hi', (err) => failures.push(err)), true)
  await got
  await new Promise((resolve) => setTimeout(resolve, 20))
  t.same(calls, ['first', 'second echo \u0001', 'first', 'second echo hi'])
  stopFirst()
  stopFirst()
  transport.close()
  t.equal(transport.post('late', (err) => failures.push(err)), false, 'nothing is sent once closed')
  t.same(failures, [])
})
