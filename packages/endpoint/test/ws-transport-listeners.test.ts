import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { WebSocketServer } from 'ws'
import { WebSocketTransport, connectWebSocket } from '../src/ws-transport.js'

// A transport keeps a lone listener without an array: these check that going from one listener to several and
// back keeps the emitter rules.

async function echoServer (t: { teardown: (fn: () => unknown) => void }): Promise<string> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
  t.teardown(() => new Promise<void>((resolve) => {
    for (const client of wss.clients) client.terminate()
    wss.close(() => resolve())
  }))
  await once(wss, 'listening')
  wss.on('connection', (socket) => {
    const peer = new WebSocketTransport(socket)
    peer.on('message', (frame) => { peer.post(String(frame), () => {}) })
  })
  return `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ws`
}

t.test('a lone listener that throws is isolated, and listeners can go from one to several and back to none', async (t) => {
  const transport = await connectWebSocket(await echoServer(t))
  t.teardown(() => transport.terminate())
  const calls: string[] = []
  const next = (): Promise<void> => new Promise((resolve) => {
    const off = transport.on('message', () => { off(); resolve() })
  })
  // One listener, which throws.
  const offThrowing = transport.on('message', (frame) => { calls.push(`throwing ${String(frame)}`); throw new Error('ignored') })
  let got = next()
  transport.post('1', () => {})
  await got
  // Two listeners, then back to one.
  const offSecond = transport.on('message', (frame) => { calls.push(`second ${String(frame)}`) })
  got = next()
  transport.post('2', () => {})
  await got
  offThrowing()
  offThrowing()
  got = next()
  transport.post('3', () => {})
  await got
  // None of ours.
  offSecond()
  got = next()
  transport.post('4', () => {})
  await got
  t.same(calls, ['throwing 1', 'throwing 2', 'second 2', 'second 3'])
})

t.test('after its close a transport drops its listeners: removing one then is harmless', async (t) => {
  const transport = await connectWebSocket(await echoServer(t))
  const closes: number[] = []
  const off = transport.on('close', ({ code }) => { closes.push(code) })
  transport.on('close', ({ code }) => { closes.push(code + 1) })
  const closed = new Promise<void>((resolve) => transport.on('close', () => resolve()))
  transport.close(4000, 'done')
  await closed
  off()
  t.same(closes, [4000, 4001])
})
