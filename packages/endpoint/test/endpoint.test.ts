import t from 'tap'
import { buildHeartbeat, buildServerHeartbeat } from '@aip/protocol'
import { AIPProtocol } from '../src/protocol.js'
import { createLinkedTransports } from '../src/memory-transport.js'
import { keepAlive, nextEvent } from './helpers.js'
import { TestEndpoint } from './test-endpoint.js'

function setup (options = {}): { endpoint: TestEndpoint, server: AIPProtocol<'server'> } {
  const [a, b] = createLinkedTransports()
  const server = new AIPProtocol(b, { role: 'server' })
  return { endpoint: new TestEndpoint(() => a, options), server }
}

t.test('an endpoint is connected between start and stop, and routes messages to handleMessage', async (t) => {
  const { endpoint, server } = setup()
  t.equal(endpoint.isConnected(), false)
  const connected = nextEvent<{ endpointId: string }>(endpoint, 'connected')
  await endpoint.start()
  t.equal((await connected).endpointId, 'test-endpoint')
  t.equal(endpoint.isConnected(), true)
  const got = endpoint.receiveWithTimeout('heartbeat', 1000)
  await server.send(buildServerHeartbeat({ responseId: 'r1' }))
  t.equal((await got).response_id, 'r1')
  t.equal(endpoint.handled[0]?.response_id, 'r1')
  await endpoint.stop()
  t.equal(endpoint.isConnected(), false)
  t.equal(endpoint.protocol, undefined)
})

t.test('sendWithTimeout sends on the connection; without one it rejects with the not-connected code', async (t) => {
  const { endpoint, server } = setup()
  await t.rejects(endpoint.sendWithTimeout(buildHeartbeat({ clientId: 'd', clientType: 'device' })), { code: 'AIP_ERR_ENDPOINT_NOT_CONNECTED' })
  await t.rejects(endpoint.receiveWithTimeout('heartbeat'), { code: 'AIP_ERR_ENDPOINT_NOT_CONNECTED' })
  await endpoint.start()
  t.teardown(() => endpoint.stop())
  const got = server.receive('heartbeat')
  await endpoint.sendWithTimeout(buildHeartbeat({ clientId: 'd', clientType: 'device' }), 1000)
  t.equal((await got).client_id, 'd')
})

t.test('receiveWithTimeout rejects with the coded timeout', async (t) => {
  keepAlive(t)
  const { endpoint } = setup({ defaultTimeoutMs: 5 })
  await endpoint.start()
  t.teardown(() => endpoint.stop())
  await t.rejects(endpoint.receiveWithTimeout('task_end'), { code: 'AIP_ERR_TIMEOUT' })
})

t.test('a handleMessage that throws becomes an error event', async (t) => {
  const { endpoint, server } = setup()
  await endpoint.start()
  t.teardown(() => endpoint.stop())
  endpoint.fail = true
  const error = nextEvent<{ error: Error, context: string }>(endpoint, 'error')
  await server.send(buildServerHeartbeat())
  const event = await error
  t.equal(event.error.message, 'handler failed')
  t.equal(event.context, 'handleMessage')
})

t.test('a close by the peer emits disconnected once', async (t) => {
  const { endpoint, server } = setup()
  await endpoint.start()
  const disconnected = nextEvent<{ info: { code: number } }>(endpoint, 'disconnected')
  server.close(1001)
  t.equal((await disconnected).info.code, 1001)
  t.equal(endpoint.isConnected(), false)
  await endpoint.stop()
})

t.test('stop leaves no listener, waiter or deadline behind', async (t) => {
  const { endpoint } = setup()
  await endpoint.start()
  const protocol = endpoint.protocol as AIPProtocol<'client'>
  const waiting = endpoint.receiveWithTimeout('task_end', 60_000)
  const disconnected = nextEvent(endpoint, 'disconnected')
  await endpoint.stop(1000, 'bye')
  await t.rejects(waiting, { code: 'AIP_ERR_ENDPOINT_TRANSPORT_CLOSED' })
  await disconnected
  t.equal(protocol.waiterCount, 0)
  t.equal((endpoint as unknown as { timeouts: { pendingCount: number } }).timeouts.pendingCount, 0)
  t.same(await protocol.closed, { code: 1000, reason: 'bye', local: true })
  await endpoint.stop()
})

t.test('the default hooks fit a reconnection strategy: no reconnection, no tasks, an event', async (t) => {
  const { endpoint } = setup()
  const event = nextEvent<{ deviceId: string }>(endpoint, 'deviceDisconnected')
  await endpoint.onDeviceDisconnected('dev1')
  t.equal((await event).deviceId, 'dev1')
  await endpoint.cancelDeviceTasks('dev1', 'device_disconnected')
  t.equal(await endpoint.reconnectDevice('dev1'), false)
})

t.test('the options are validated and frozen', async (t) => {
  const [a] = createLinkedTransports()
  t.throws(() => new TestEndpoint(() => a, { defaultTimeoutMs: 0 }), { code: 'AIP_ERR_INVALID_OPTION' })
  t.throws(() => new TestEndpoint(() => a, { logger: 1 as never }), { code: 'AIP_ERR_INVALID_OPTION' })
  const endpoint = new TestEndpoint(() => a, { protocol: { maxFileBytes: 10 } })
  t.ok(Object.isFrozen(endpoint.options))
  await endpoint.start()
  t.equal(endpoint.protocol?.options.maxFileBytes, 10)
  await endpoint.stop()
})

t.test('a protocol over a transport that is already closed is closed at once', async (t) => {
  const [a] = createLinkedTransports()
  a.close()
  await new Promise((resolve) => setImmediate(resolve))
  const endpoint = new TestEndpoint(() => a)
  await endpoint.start()
  t.equal(endpoint.isConnected(), false)
  await endpoint.stop()
})
