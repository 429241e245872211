import t from 'tap'
import { buildServerHeartbeat } from '@aip/protocol'
import { collect, linkedProtocols, settle } from './helpers.js'

const text = '{"type":"heartbeat","status":"ok","session_id":"s1"}'

/** The message of `text`, counting how often it was made. */
function counted (): { made: number, message: () => ReturnType<typeof buildServerHeartbeat> } {
  const state = {
    made: 0,
    message: () => {
      state.made++
      return { ...buildServerHeartbeat(), session_id: 's1' }
    }
  }
  return state
}

t.test('postEncoded writes the text as it is and never makes the message when nothing reads it', async (t) => {
  const { client, server, clientTransport } = linkedProtocols()
  t.teardown(() => client.close())
  const frames: string[] = []
  clientTransport.on('message', (data) => frames.push(String(data)))
  const relayed = counted()
  t.equal(server.postEncoded(text, relayed.message), true)
  await settle()
  t.same(frames, [text], 'the text, verbatim')
  t.equal(relayed.made, 0, 'the message was never made')
})

t.test('postEncoded makes the message once for a sent listener, and for middleware (then in call order)', async (t) => {
  const { client, server, clientTransport } = linkedProtocols()
  t.teardown(() => client.close())
  const frames: string[] = []
  clientTransport.on('message', (data) => frames.push(String(data)))
  const sent = collect<{ message: { type: string, session_id?: string }, bytes: number }>(server, 'sent')
  const listened = counted()
  t.equal(server.postEncoded(text, listened.message), true)
  t.equal(listened.made, 1, 'made once, for the sent listener')
  t.match(sent[0], { message: { type: 'heartbeat', session_id: 's1' }, bytes: text.length }, 'the listener got the message and the text\'s bytes')
  const seen: string[] = []
  server.use({ processOutgoing: (message) => { seen.push(String(message.session_id)); return message } })
  const behindMiddleware = counted()
  t.equal(server.postEncoded(text, behindMiddleware.message), true)
  await settle()
  t.equal(behindMiddleware.made, 1, 'made once, for the middleware')
  t.same(seen, ['s1'], 'the middleware saw the message')
  t.equal(frames.length, 2, 'both frames written, in the order of the calls')
})

t.test('postEncoded on a closed connection sends nothing and makes nothing', async (t) => {
  const { client, server } = linkedProtocols()
  client.close()
  await server.closed
  const relayed = counted()
  t.equal(server.postEncoded(text, relayed.message), false)
  t.equal(relayed.made, 0)
})
