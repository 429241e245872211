import t from 'tap'
import { buildDeviceRegistration, buildHeartbeat, buildServerHeartbeat, buildTaskAck, encodeServerMessage } from '@aip/protocol'
import { AIPProtocol } from '../src/protocol.js'
import { createLinkedTransports } from '../src/memory-transport.js'
import { linkedProtocols, nextEvent, settle } from './helpers.js'

t.test('a sent message reaches the handler of its type on the other side, decoded', async (t) => {
  const { client, server } = linkedProtocols()
  t.teardown(() => client.close())
  const got = new Promise((resolve) => server.onMessage('register', resolve))
  await client.send(buildDeviceRegistration({ clientId: 'dev1', platform: 'linux' }))
  const message = await got as { type: string, client_id: string, target_id: null }
  t.equal(message.type, 'register')
  t.equal(message.client_id, 'dev1')
  t.equal(message.target_id, null, 'every field is present')
})

t.test('handlers see messages strictly in arrival order, even when they are slow', async (t) => {
  const { client, server } = linkedProtocols()
  t.teardown(() => client.close())
  const seen: string[] = []
  let release!: () => void
  const gate = new Promise<void>((resolve) => { release = resolve })
  client.onMessage('heartbeat', async (message) => {
    seen.push(`start ${message.response_id ?? ''}`)
    if (message.response_id === 'a') await gate
    seen.push(`end ${message.response_id ?? ''}`)
  })
  const done = nextEvent(client, 'received')
  for (const id of ['a', 'b', 'c']) await server.send(buildServerHeartbeat({ responseId: id }))
  await done
  await settle()
  t.same(seen, ['start a'], 'b waits for a')
  release()
  const last = client.receive('heartbeat', { filter: (m) => m.response_id === 'never' }).catch(() => {})
  await settle(5)
  t.same(seen, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c'])
  client.close()
  await last
})

t.test('the catch-all handler runs after the handlers of the type, for every type', async (t) => {
  const { client, server } = linkedProtocols()
  t.teardown(() => client.close())
  const calls: string[] = []
  server.onMessage('heartbeat', () => { calls.push('typed') })
  const all = new Promise<void>((resolve) => {
    server.onAnyMessage((message) => {
      calls.push(`any ${message.type}`)
      if (message.type === 'register') resolve()
    })
  })
  await client.send(buildHeartbeat({ clientId: 'dev1', clientType: 'device' }))
  await client.send(buildDeviceRegistration({ clientId: 'dev1' }))
  await all
  t.same(calls, ['typed', 'any heartbeat', 'any register'])
})

t.test('an unsubscribed handler is not called again', async (t) => {
  const { client, server } = linkedProtocols()
  t.teardown(() => client.close())
  let calls = 0
  const off = client.onMessage('heartbeat', () => { calls++ })
  const offAny = client.onAnyMessage(() => { calls++ })
  off()
  off()
  offAny()
  const received = client.receive('heartbeat')
  await server.send(buildServerHeartbeat())
  await received
  await settle()
  t.equal(calls, 0)
})

t.test('a handler that throws is reported as an error event and the next message is still handled', async (t) => {
  const { client, server } = linkedProtocols()
  t.teardown(() => client.close())
  const boom = new Error('boom')
  let first = true
  client.onMessage('heartbeat', () => {
    if (first) {
      first = false
      throw boom
    }
  })
  const error = nextEvent<{ error: unknown, context: string, message: { type: string } }>(client, 'error')
  const secondReceived = client.receive('heartbeat', { filter: (m) => m.response_id === '2' })
  await server.send(buildServerHeartbeat({ responseId: '1' }))
  await server.send(buildServerHeartbeat({ responseId: '2' }))
  const event = await error
  t.equal(event.error, boom)
  t.equal(event.context, 'handler')
  t.equal(event.message.type, 'heartbeat')
  const second = await secondReceived
  t.equal(second.response_id, '2')
})

t.test('sends leave in call order and emit a sent event with their byte length', async (t) => {
  const { client, server } = linkedProtocols()
  t.teardown(() => client.close())
  const sent: number[] = []
  server.on('sent', ({ bytes }) => { sent.push(bytes) })
  const ack = buildTaskAck({ sessionId: 's1', responseId: 'r1' })
  const firstReceived = client.receive('*')
  await Promise.all([server.send(ack), server.send(buildServerHeartbeat({ responseId: 'r2' }))])
  const first = await firstReceived
  t.equal(first.response_id, 'r1')
  t.same(sent, [Buffer.byteLength(encodeServerMessage(ack)), sent[1]])
})

t.test('send rejects with a coded error once the connection is closed', async (t) => {
  const { client, server } = linkedProtocols()
  const serverClosed = nextEvent(server, 'close')
  client.close()
  t.equal(client.isOpen, false)
  await t.rejects(client.send(buildHeartbeat({ clientId: 'd', clientType: 'device' })), { code: 'AIP_ERR_ENDPOINT_TRANSPORT_CLOSED' })
  await serverClosed
  await t.rejects(server.send(buildServerHeartbeat()), { code: 'AIP_ERR_ENDPOINT_TRANSPORT_CLOSED' })
})

t.test('send rejects a message the reference would refuse, with the protocol\'s code', async (t) => {
  const { client } = linkedProtocols()
  t.teardown(() => client.close())
  await t.rejects(client.send({ type: 'heartbeat' } as never), { code: 'AIP_ERR_PROTOCOL_INVALID_ARGUMENT' })
})

t.test('extra fields are written after the declared ones', async (t) => {
  const [a, b] = createLinkedTransports()
  const client = new AIPProtocol(a, { role: 'client' })
  t.teardown(() => client.close())
  const frame = new Promise<string | Buffer>((resolve) => b.on('message', resolve))
  await client.send(buildHeartbeat({ clientId: 'd', clientType: 'device' }), { extra: { x_trace: 't1' } })
  t.match(String(await frame), /"x_trace":"t1"\}$/)
})

t.test('a close of the peer is emitted once, after the frames that came before it', async (t) => {
  const { client, server } = linkedProtocols()
  const order: string[] = []
  client.onMessage('error', () => { order.push('error') })
  const closed = nextEvent<{ code: number, local: boolean }>(client, 'close')
  client.on('close', () => { order.push('close') })
  await server.send({ type: 'error', status: 'error', error: 'refused' })
  server.close(1000, 'bye')
  const info = await closed
  t.equal(info.code, 1000)
  t.equal(info.local, false)
  t.same(order, ['error', 'close'])
})

t.test('the options are validated once and frozen', async (t) => {
  const [a] = createLinkedTransports()
  t.throws(() => new AIPProtocol(a, { role: 'peer' as never }), { code: 'AIP_ERR_INVALID_OPTION' })
  t.throws(() => new AIPProtocol(a, { role: 'client', maxFileBytes: -1 }), { code: 'AIP_ERR_INVALID_OPTION' })
  t.throws(() => new AIPProtocol(a, { role: 'client', chunkSize: 1.5 }), { code: 'AIP_ERR_INVALID_OPTION' })
  t.throws(() => new AIPProtocol(a, { role: 'client', logger: {} as never }), { code: 'AIP_ERR_INVALID_OPTION' })
  const protocol = new AIPProtocol(a, { role: 'client', maxFileBytes: 0 })
  t.equal(protocol.options.maxFileBytes, 0, 'zero is kept')
  t.equal(protocol.options.chunkSize, 1024 * 1024)
  t.ok(Object.isFrozen(protocol.options))
  protocol.close()
})

t.test('a protocol built over a closed transport is closed', async (t) => {
  const [a] = createLinkedTransports()
  a.close()
  const protocol = new AIPProtocol(a, { role: 'client' })
  t.equal(protocol.isOpen, false)
  await t.rejects(protocol.receive('heartbeat'), { code: 'AIP_ERR_ENDPOINT_TRANSPORT_CLOSED' })
})
