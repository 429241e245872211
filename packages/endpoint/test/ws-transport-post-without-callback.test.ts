import t from 'tap'
import { WebSocketTransport } from '../src/ws-transport.js'
import { socketPair } from './helpers.js'

// `post` without `onError` writes the frame with no write callback (nothing is scheduled after a write that completes
// at once); with `onError`, the write has a callback, which reports a failed write.

t.test('post writes without a callback unless onError is given; both frames arrive in order', async (t) => {
  const { socket, client } = await socketPair(t)
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
