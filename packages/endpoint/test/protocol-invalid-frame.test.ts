import t from 'tap'
import { buildServerHeartbeat } from '@aip/protocol'
import { linkedProtocols, nextEvent } from './helpers.js'

interface InvalidFrame { error: { code: string, message: string }, bytes: number }

t.test('a frame that is not JSON becomes an invalidFrame event, and the connection goes on', async (t) => {
  const { client, serverTransport } = linkedProtocols()
  t.teardown(() => client.close())
  const invalid = nextEvent<InvalidFrame>(client, 'invalidFrame')
  const next = client.receive('heartbeat')
  await serverTransport.send('{not json')
  await serverTransport.send(JSON.stringify(buildServerHeartbeat()))
  const event = await invalid
  t.equal(event.error.code, 'AIP_ERR_PROTOCOL_INVALID_JSON')
  t.equal(event.bytes, 9)
  t.equal((await next).type, 'heartbeat')
})

t.test('a message without status is reported with the protocol\'s invalid-message code', async (t) => {
  const { client, serverTransport } = linkedProtocols()
  t.teardown(() => client.close())
  const invalid = nextEvent<InvalidFrame>(client, 'invalidFrame')
  await serverTransport.send('{"type":"heartbeat"}')
  const event = await invalid
  t.equal(event.error.code, 'AIP_ERR_PROTOCOL_INVALID_MESSAGE')
  t.match(event.error, { issues: [{ path: '/status' }] })
})

t.test('a broken transfer frame is reported with the transfer schema\'s error', async (t) => {
  const { client, serverTransport } = linkedProtocols()
  t.teardown(() => client.close())
  const invalid = nextEvent<InvalidFrame>(client, 'invalidFrame')
  await serverTransport.send('{"type": "file_transfer_start", "filename": "a"}')
  const event = await invalid
  t.equal(event.error.code, 'AIP_ERR_PROTOCOL_INVALID_MESSAGE')
  t.match(event.error.message, /transfer message/)
})

t.test('a frame above maxFrameBytes is refused before parsing', async (t) => {
  const { client, serverTransport } = linkedProtocols({ maxFrameBytes: 64 })
  t.teardown(() => client.close())
  const invalid = nextEvent<InvalidFrame>(client, 'invalidFrame')
  await serverTransport.send(JSON.stringify(buildServerHeartbeat()))
  t.equal((await invalid).error.code, 'AIP_ERR_PROTOCOL_FRAME_TOO_LARGE')
})

t.test('a binary frame outside a transfer is reported, never dispatched', async (t) => {
  const { client, serverTransport } = linkedProtocols()
  t.teardown(() => client.close())
  let dispatched = 0
  client.onAnyMessage(() => { dispatched++ })
  const invalid = nextEvent<InvalidFrame>(client, 'invalidFrame')
  await serverTransport.send(Buffer.from([1, 2, 3]))
  const event = await invalid
  t.equal(event.error.code, 'AIP_ERR_ENDPOINT_UNEXPECTED_BINARY')
  t.equal(event.bytes, 3)
  t.equal(dispatched, 0)
})

t.test('a throwing event listener is logged, not thrown into the frame loop', async (t) => {
  const logged: unknown[] = []
  const logger = { debug () {}, info () {}, warn () {}, error (obj: unknown) { logged.push(obj) } }
  const { client, serverTransport } = linkedProtocols({ logger })
  t.teardown(() => client.close())
  client.on('invalidFrame', () => { throw new Error('listener') })
  const next = client.receive('heartbeat')
  await serverTransport.send('nope')
  await serverTransport.send(JSON.stringify(buildServerHeartbeat()))
  await next
  t.equal(logged.length, 1)
})
