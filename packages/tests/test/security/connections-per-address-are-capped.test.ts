import type { Server } from 'node:http'
import type { Socket } from 'node:net'
import { test } from 'tap'
import { openIdle } from '../../src/security/attacks/idle-connections.js'
import { startLocalTarget } from '../../src/security/local.js'

/** Writes an HTTP request on an already open socket; resolves with the answer's status code (0 if it closed). */
async function statusOn (socket: Socket): Promise<number> {
  return await new Promise((resolve) => {
    let head = ''
    const onData = (chunk: Buffer): void => {
      head += chunk.toString('latin1')
      const line = /^HTTP\/1\.1 (\d{3})/.exec(head)
      if (line !== null) { socket.off('data', onData); resolve(Number(line[1])) }
    }
    socket.on('data', onData)
    socket.once('close', () => resolve(0))
    socket.write('GET /api/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
  })
}

async function connectionsOf (server: Server): Promise<number> {
  return await new Promise((resolve) => server.getConnections((_err, count) => resolve(count)))
}

test('one address holds at most maxConnectionsPerAddress connections; the rest are closed at once', async (t) => {
  const { server, target } = await startLocalTarget({ maxConnectionsPerAddress: 5, headersTimeoutMs: null, maxConnections: 50 })
  t.teardown(() => server.close())
  t.equal(server.app.server.maxConnections, 50, 'maxConnections is set on the HTTP server')
  const held = []
  for (let i = 0; i < 5; i++) held.push(await openIdle(target))
  const extra = []
  for (let i = 0; i < 3; i++) extra.push(await openIdle(target))
  await Promise.all(extra.map(async (s) => await s.closed))
  t.pass('the connections over the cap were closed')
  t.equal(await statusOn(held[0]!.socket), 200, 'a connection under the cap is served')
  for (const s of held) s.socket.destroy()
  await Promise.all(held.map(async (s) => await s.closed))
  // The server sees the closes a moment after the client: wait (bounded) until it holds no connection.
  for (let i = 0; i < 200 && await connectionsOf(server.app.server) > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  const again = await openIdle(target)
  t.equal(await statusOn(again.socket), 200, 'closed connections free their slots')
  again.socket.destroy()
})
