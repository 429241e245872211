import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import WebSocket, { WebSocketServer } from 'ws'
import { WebSocketTransport } from '../src/ws-transport.js'

// `post` without `onError` writes the frame with no write callback (nothing is scheduled after a write that completes
// at once); with `onError`, the write has a callback, which reports a failed write.

t.test('post writes without a callback unless onError is given; both frames arrive in order', async (t) => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
  t.teardown(() => new Promise<void>((resolve) => {
    for (const socket of wss.clients) socket.terminate()
    wss.close(() => resolve())
  }))
  await once(wss, 'listening')
  const accepted = once(wss, 'connection') as Promise<[WebSocket]>
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`)
  t.teardown(() => client.terminate())
  await once(client, 'open')
  const [socket] = await accepted
  const transport = new WebSocketTransport(socket)

  const callbacks: string[] = []
  const send = socket.send.bind(socket) as (...args: unknown[]) => void
  ;(socket as unknown as { send: (...args: unknown[]) => void }).send = (...args: unknown[]) => {
    callbacks.push(typeof args[2])
    send(...args)
  }
  const received: string[] = []
  const both = new Promise<void>((resolve) => {
    client.on('message', (data) => {
      received.push(data.toString())
      if (received.length === 2) resolve()
    })
  })
  const errors: Error[] = []
  t.equal(transport.post('one'), true, 'posted without onError')
  t.equal(transport.post('two', (err) => { errors.push(err) }), true, 'posted with onError')
  await both
  t.same(received, ['one', 'two'], 'both frames arrive, in order')
  t.same(callbacks, ['undefined', 'function'], 'a write callback only for the post with onError')
  t.same(errors, [], 'no write failed')
})
