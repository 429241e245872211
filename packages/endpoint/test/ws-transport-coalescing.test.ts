import { once } from 'node:events'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Socket } from 'node:net'
import t from 'tap'
import type WebSocket from 'ws'
import { WebSocketTransport } from '../src/ws-transport.js'
import { socketPair } from './helpers.js'

// The first frame since the event loop last waited with nothing to do is written at once; the frames after it in the same turn leave
// in one write at the end of the turn.

interface Pair { transport: WebSocketTransport, net: Socket, client: WebSocket }

async function pair (t: { teardown: (fn: () => unknown) => void }): Promise<Pair> {
  const { socket, client } = await socketPair(t)
  return { transport: new WebSocketTransport(socket), net: (socket as unknown as { _socket: Socket })._socket, client }
}

/** Counts the writes that reach the network socket (`_write` for one chunk, `_writev` for several). */
function countWrites (net: Socket): () => number {
  let writes = 0
  const raw = net as unknown as Record<'_write' | '_writev', (...args: unknown[]) => unknown>
  for (const name of ['_write', '_writev'] as const) {
    const original = raw[name].bind(net)
    raw[name] = (...args: unknown[]) => { writes++; return original(...args) }
  }
  return () => writes
}

function receive (client: WebSocket, count: number): Promise<string[]> {
  const frames: string[] = []
  return new Promise((resolve) => {
    client.on('message', (data) => { if (frames.push(String(data)) === count) resolve(frames) })
  })
}

t.test('the first frame of a turn is written at once, the ones after it in one write, in order', async (t) => {
  const { transport, net, client } = await pair(t)
  const writes = countWrites(net)
  const arrived = receive(client, 4)
  const errors: Error[] = []
  transport.post('one', (err) => errors.push(err))
  t.equal(writes(), 1, 'the first frame is written at once')
  const sent = transport.send('two')
  transport.post('three', (err) => errors.push(err))
  t.equal(writes(), 1, 'the frames after it wait for the end of the turn')
  await sent
  t.equal(writes(), 2, 'the two went in one write')
  // Still the same turn for the loop (it has not waited for I/O since): held, written at the end of this turn.
  transport.post('four', (err) => errors.push(err))
  t.equal(writes(), 2, 'a frame sent before the loop waits again is held')
  t.same(await arrived, ['one', 'two', 'three', 'four'], 'in order')
  t.equal(writes(), 3, 'the held frame went in a write of its own')
  t.same(errors, [])
})

t.test('a frame sent after the loop waited with nothing to do is written at once', async (t) => {
  const { transport, net, client } = await pair(t)
  const writes = countWrites(net)
  const first = receive(client, 1)
  transport.post('one', () => {})
  t.same(await first, ['one'])
  // Let the loop wait with nothing to do (its idle time grows only then), as a server between two tasks does.
  const idle = performance.nodeTiming.idleTime
  for (let i = 0; i < 200 && performance.nodeTiming.idleTime === idle; i++) await sleep(5)
  t.not(performance.nodeTiming.idleTime, idle, 'the loop has waited')
  const before = writes()
  transport.post('two', () => {})
  t.equal(writes(), before + 1, 'written at once')
})

t.test('a frame sent just before terminate() still leaves', async (t) => {
  const { transport, client } = await pair(t)
  const frames: string[] = []
  client.on('message', (data) => frames.push(String(data)))
  const closed = once(client, 'close') as Promise<[number]>
  t.equal(transport.post('last words', () => {}), true)
  transport.terminate()
  t.equal((await closed)[0], 1006, 'the connection drops')
  t.same(frames, ['last words'], 'after the frame arrived')
})

t.test('a close after frames of the same turn sends them first', async (t) => {
  const { transport, client } = await pair(t)
  const arrived = receive(client, 2)
  const closed = once(client, 'close') as Promise<[number, Buffer]>
  transport.post('a', () => {})
  transport.post('b', () => {})
  transport.close(4002, 'bye')
  t.same(await arrived, ['a', 'b'])
  const [code, reason] = await closed
  t.same([code, String(reason)], [4002, 'bye'])
})
