import t from 'tap'
import { buildServerHeartbeat } from '@aip/protocol'
import { AIPEndpoint } from '../src/endpoint.js'
import type { Extension } from '../src/extensions/extension.js'
import { AIPProtocol, type IncomingMessage } from '../src/protocol/index.js'
import { createLinkedTransports } from '../src/memory-transport.js'
import type { Transport } from '../src/transport.js'
import { nextEvent, settle } from './helpers.js'

/** An endpoint that attaches whatever transports it is given, under the given keys. */
class MultiEndpoint extends AIPEndpoint<'client'> {
  readonly handled: Array<[string, string]> = []
  async start (): Promise<void> {}
  add (transport: Transport, key: string): AIPProtocol<'client'> {
    return this.attachConnection(transport, key)
  }

  remove (key: string): AIPProtocol<'client'> | undefined {
    return this.detachConnection(key)
  }

  get (key?: string): AIPProtocol<'client'> | undefined {
    return this.connection(key)
  }

  handleMessage (message: IncomingMessage<'client'>, key: string): void {
    this.handled.push([key, message.response_id ?? ''])
  }
}

function peer (endpoint: MultiEndpoint, key: string): AIPProtocol<'server'> {
  const [a, b] = createLinkedTransports()
  endpoint.add(a, key)
  return new AIPProtocol(b, { role: 'server' })
}

t.test('each connection routes its messages to handleMessage with its key', async (t) => {
  const endpoint = new MultiEndpoint('client')
  t.teardown(() => endpoint.stop())
  const one = peer(endpoint, 'one')
  const two = peer(endpoint, 'two')
  t.same(endpoint.connectionKeys(), ['one', 'two'])
  t.equal(endpoint.connectionCount, 2)
  await one.send(buildServerHeartbeat({ responseId: 'r1' }))
  await two.send(buildServerHeartbeat({ responseId: 'r2' }))
  const got = endpoint.receiveWithTimeout('heartbeat', 1000, 'two')
  await two.send(buildServerHeartbeat({ responseId: 'r3' }))
  t.equal((await got).response_id, 'r3')
  t.same(endpoint.handled, [['one', 'r1'], ['two', 'r2'], ['two', 'r3']])
})

t.test('without a key, an endpoint with several connections refuses with the invalid-argument code', async (t) => {
  const endpoint = new MultiEndpoint('client')
  t.teardown(() => endpoint.stop())
  t.equal(endpoint.isConnected(), false)
  t.equal(endpoint.get(), undefined)
  peer(endpoint, 'one')
  t.equal(endpoint.isConnected(), true, 'the only connection is the default one')
  peer(endpoint, 'two')
  t.throws(() => endpoint.isConnected(), { code: 'AIP_ERR_INVALID_ARGUMENT', argument: 'key' })
  t.throws(() => endpoint.get(), { code: 'AIP_ERR_INVALID_ARGUMENT', argument: 'key' })
  await t.rejects(endpoint.receiveWithTimeout('heartbeat'), { code: 'AIP_ERR_INVALID_ARGUMENT' })
  t.equal(endpoint.isConnected('one'), true)
  t.equal(endpoint.isConnected('three'), false)
  await t.rejects(endpoint.receiveWithTimeout('heartbeat', 10, 'three'), { code: 'AIP_ERR_ENDPOINT_NOT_CONNECTED' })
})

t.test('use() reaches every current and future connection, and its remover detaches it from all', async (t) => {
  const endpoint = new MultiEndpoint('client')
  t.teardown(() => endpoint.stop())
  const seen: string[] = []
  const extension: Extension = {
    onConnect: (context) => { seen.push(`connect ${context.endpointId ?? ''}`) },
    onReceive: (message, _info, context) => { seen.push(`${context.endpointId ?? ''} ${(message as { response_id?: string | null }).response_id ?? ''}`) }
  }
  const one = peer(endpoint, 'one')
  const remove = endpoint.use(extension)
  const two = peer(endpoint, 'two')
  await one.send(buildServerHeartbeat({ responseId: 'a' }))
  await two.send(buildServerHeartbeat({ responseId: 'b' }))
  await settle()
  remove()
  await one.send(buildServerHeartbeat({ responseId: 'c' }))
  const three = peer(endpoint, 'three')
  await three.send(buildServerHeartbeat({ responseId: 'd' }))
  await settle()
  t.same(seen, ['connect one', 'connect two', 'one a', 'two b'])
})

t.test('a closed connection leaves the table and is reported with its key; detach does not close', async (t) => {
  const endpoint = new MultiEndpoint('client')
  t.teardown(() => endpoint.stop())
  const one = peer(endpoint, 'one')
  peer(endpoint, 'two')
  const disconnected = nextEvent<{ endpointId: string, info: { code: number } }>(endpoint, 'disconnected')
  one.close(1001)
  const event = await disconnected
  t.equal(event.endpointId, 'one')
  t.equal(event.info.code, 1001)
  t.same(endpoint.connectionKeys(), ['two'])
  const detached = endpoint.remove('two')
  t.equal(detached?.isOpen, true, 'detach leaves the connection open')
  t.same(endpoint.connectionKeys(), [])
  t.equal(endpoint.remove('two'), undefined)
  detached?.close()
})

t.test('attaching under a key in use replaces the previous connection without closing it', async (t) => {
  const endpoint = new MultiEndpoint('client')
  t.teardown(() => endpoint.stop())
  const [a1] = createLinkedTransports()
  const first = endpoint.add(a1, 'k')
  const [a2, b2] = createLinkedTransports()
  endpoint.add(a2, 'k')
  const server = new AIPProtocol(b2, { role: 'server' })
  t.equal(first.isOpen, true)
  t.equal(endpoint.connectionCount, 1)
  await server.send(buildServerHeartbeat({ responseId: 'new' }))
  await settle()
  t.same(endpoint.handled, [['k', 'new']])
  first.close()
  t.throws(() => endpoint.add(a2, 1 as never), { code: 'AIP_ERR_INVALID_ARGUMENT' })
})

t.test('stop closes every connection', async (t) => {
  const endpoint = new MultiEndpoint('client')
  const one = peer(endpoint, 'one')
  const two = peer(endpoint, 'two')
  await endpoint.stop(1001, 'bye')
  t.same(await one.closed, { code: 1001, reason: 'bye', local: false })
  t.same(await two.closed, { code: 1001, reason: 'bye', local: false })
  t.equal(endpoint.connectionCount, 0)
})
