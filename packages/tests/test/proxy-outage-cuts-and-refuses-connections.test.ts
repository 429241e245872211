import { once } from 'node:events'
import { connect, createServer, type AddressInfo, type Socket } from 'node:net'
import { test } from 'tap'
import { FaultProxy } from '../src/proxy.js'

/** A TCP echo server on 127.0.0.1, port 0. */
async function echoServer (teardown: (fn: () => void) => void): Promise<number> {
  const sockets = new Set<Socket>()
  const server = createServer((socket) => { sockets.add(socket); socket.on('error', () => {}); socket.pipe(socket) })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  teardown(() => { for (const s of sockets) s.destroy(); server.close() })
  return (server.address() as AddressInfo).port
}

/** Opens a connection through the proxy and writes `text`: did it come back before the connection closed? */
async function roundTrip (port: number, text: string): Promise<boolean> {
  const socket = connect({ host: '127.0.0.1', port })
  socket.on('error', () => {})
  let received = ''
  return await new Promise<boolean>((resolve) => {
    socket.on('connect', () => socket.write(text))
    socket.on('data', (chunk: Buffer) => {
      received += String(chunk)
      if (received === text) socket.destroy()
    })
    socket.on('close', () => resolve(received === text))
  })
}

test('a proxy outage cuts every live connection and refuses new ones while it lasts', async (t) => {
  const target = await echoServer((fn) => t.teardown(fn))
  const proxy = await FaultProxy.start(() => target)
  t.teardown(() => proxy.close())

  const socket = connect({ host: '127.0.0.1', port: proxy.port })
  socket.on('error', () => {})
  await once(socket, 'connect')
  socket.write('ping')
  t.equal(String((await once(socket, 'data'))[0]), 'ping', 'the link works before the outage')
  t.equal(proxy.live().length, 1, 'one live connection')

  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  t.equal(proxy.outage(60_000), 1, 'the live connection is cut')
  await closed
  t.ok(proxy.down, 'the link is down')

  t.notOk(await roundTrip(proxy.port, 'during'), 'a connection during the outage is refused')
  t.equal(proxy.refused, 1, 'and counted')

  proxy.restore()
  t.notOk(proxy.down, 'restored, the link is up')
  t.ok(await roundTrip(proxy.port, 'after'), 'and a new connection is forwarded again')
})

test('after an outage is over, new connections go through again', async (t) => {
  const target = await echoServer((fn) => t.teardown(fn))
  const proxy = await FaultProxy.start(() => target)
  t.teardown(() => proxy.close())
  t.equal(proxy.outage(0), 0, 'nothing to cut')
  t.ok(await roundTrip(proxy.port, 'after'), 'a new connection is forwarded')
  t.equal(proxy.refused, 0, 'none refused')
})
