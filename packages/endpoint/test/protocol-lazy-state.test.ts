import t from 'tap'
import { Clock } from '@tapjs/clock'
import { buildServerHeartbeat, buildTaskEnd } from '@aip/protocol'
import { AIPEndpoint } from '../src/endpoint.js'
import type { Extension } from '../src/extensions/extension.js'
import { createLinkedTransports } from '../src/memory-transport.js'
import { AIPProtocol, type IncomingMessage } from '../src/protocol/index.js'
import { linkedProtocols, nextEvent } from './helpers.js'

// A protocol makes its listeners, handlers, waiters and close promise on first use: these tests check that
// something added late behaves exactly as if it had been there from the start.

t.test('a listener added after the first frame sees the later frames, in order with the earlier listeners', async (t) => {
  const { client, server } = linkedProtocols()
  t.teardown(() => client.close())
  const first = client.receive('heartbeat')
  await server.send(buildServerHeartbeat({ responseId: 'first' }))
  await first
  const seen: string[] = []
  client.on('received', ({ message }) => { seen.push(`a ${message.response_id ?? ''}`) })
  client.on('received', ({ message }) => { seen.push(`b ${message.response_id ?? ''}`) })
  const got = client.receive('heartbeat')
  await server.send(buildServerHeartbeat({ responseId: 'second' }))
  await got
  t.same(seen, ['a second', 'b second'])
})

t.test('a listener that throws does not stop the next one, and is reported', async (t) => {
  const { client, server } = linkedProtocols()
  t.teardown(() => client.close())
  const seen: string[] = []
  client.on('received', () => { throw new Error('listener') })
  client.on('received', () => { seen.push('second listener') })
  const off = client.on('received', () => { seen.push('removed') })
  off()
  off()
  const got = client.receive('heartbeat')
  await server.send(buildServerHeartbeat())
  await got
  t.same(seen, ['second listener'])
})

class Endpoint extends AIPEndpoint<'client'> {
  readonly handled: string[] = []
  async start (): Promise<void> {}
  add (key: string): [AIPProtocol<'client'>, AIPProtocol<'server'>] {
    const [a, b] = createLinkedTransports()
    return [this.attachConnection(a, key), new AIPProtocol(b, { role: 'server' })]
  }

  handleMessage (message: IncomingMessage<'client'>, key: string): void {
    this.handled.push(`${key} ${message.response_id ?? ''}`)
  }
}

t.test('an extension used on the endpoint after the first frame sees every later frame of that connection', async (t) => {
  const endpoint = new Endpoint('client')
  t.teardown(() => endpoint.stop())
  const [, peer] = endpoint.add('one')
  await peer.send(buildServerHeartbeat({ responseId: 'before' }))
  const received: string[] = []
  endpoint.use({ onReceive: (message) => { received.push((message as { response_id: string | null }).response_id ?? '') } } satisfies Extension)
  const got = endpoint.receiveWithTimeout('heartbeat', 1000, 'one')
  await peer.send(buildServerHeartbeat({ responseId: 'after' }))
  await got
  t.same(received, ['after'])
  t.same(endpoint.handled, ['one before', 'one after'])
})

t.test("the endpoint's handler runs after the handlers of the type and before the other any-message handlers", async (t) => {
  const endpoint = new Endpoint('client')
  t.teardown(() => endpoint.stop())
  const [protocol, peer] = endpoint.add('k')
  const order: string[] = []
  const done = new Promise<void>((resolve) => {
    protocol.onAnyMessage(() => {
      order.push(`any (endpoint saw ${endpoint.handled.length})`)
      resolve()
    })
  })
  protocol.onMessage('heartbeat', () => { order.push(`typed (endpoint saw ${endpoint.handled.length})`) })
  await peer.send(buildServerHeartbeat({ responseId: 'x' }))
  await done
  t.same(order, ['typed (endpoint saw 0)', 'any (endpoint saw 1)'])
})

t.test('a detached connection no longer reaches the endpoint, and its close is not reported as a disconnection', async (t) => {
  class Detaching extends Endpoint {
    remove (key: string): AIPProtocol<'client'> | undefined { return this.detachConnection(key) }
  }
  const endpoint = new Detaching('client')
  t.teardown(() => endpoint.stop())
  const disconnected: string[] = []
  endpoint.on('disconnected', ({ endpointId }) => { disconnected.push(endpointId ?? '') })
  const [protocol, peer] = endpoint.add('gone')
  t.equal(endpoint.remove('gone'), protocol)
  const got = protocol.receive('heartbeat')
  await peer.send(buildServerHeartbeat({ responseId: 'late' }))
  t.equal((await got).response_id, 'late', 'the protocol itself still works')
  t.same(endpoint.handled, [])
  protocol.close()
  await protocol.closed
  t.same(disconnected, [])
})

function useClock (t: { teardown: (fn: () => void) => void }): Clock {
  const clock = new Clock()
  clock.enter()
  t.teardown(() => { clock.exit() })
  return clock
}

t.test('a waiter made on first use times out on the clock, and is removed', async (t) => {
  const clock = useClock(t)
  const { client } = linkedProtocols()
  t.teardown(() => client.close())
  t.equal(client.waiterCount, 0)
  const waiting = client.receive('task_end', { timeoutMs: 50 })
  t.equal(client.waiterCount, 1)
  clock.advance(50)
  await t.rejects(waiting, { code: 'AIP_ERR_TIMEOUT', timeoutMs: 50 })
  t.equal(client.waiterCount, 0)
})

t.test('a waiter made on first use rejects when its signal aborts', async (t) => {
  const { client } = linkedProtocols()
  t.teardown(() => client.close())
  const controller = new AbortController()
  const waiting = client.receiveBinary({ signal: controller.signal })
  controller.abort()
  await t.rejects(waiting, { code: 'AIP_ERR_ABORTED' })
  t.equal(client.waiterCount, 0)
})

t.test('a waiter made on first use is released when the peer closes, and one made after the close rejects at once', async (t) => {
  const { client, server } = linkedProtocols()
  const waiting = client.receive('task_end')
  server.close(4000, 'bye')
  await t.rejects(waiting, { code: 'AIP_ERR_ENDPOINT_TRANSPORT_CLOSED' })
  await client.closed
  await t.rejects(client.receive('task_end'), { code: 'AIP_ERR_ENDPOINT_TRANSPORT_CLOSED' })
  t.equal(client.waiterCount, 0)
})

t.test('closed resolves with the close info whether it was first read before or after the close', async (t) => {
  const before = linkedProtocols()
  const early = before.client.closed
  t.equal(before.client.closed, early, 'the same promise every time')
  before.server.close(4001, 'early')
  t.match(await early, { code: 4001, reason: 'early', local: false })

  const after = linkedProtocols()
  const gone = nextEvent<{ code: number }>(after.client, 'close')
  after.server.close(4002, 'late')
  t.equal((await gone).code, 4002)
  t.match(await after.client.closed, { code: 4002, reason: 'late', local: false })
})

t.test('handlers registered after a frame run for the later frames; a throwing one is reported as an error event', async (t) => {
  const { client, server } = linkedProtocols()
  t.teardown(() => client.close())
  const first = client.receive('task_end')
  await server.send(buildTaskEnd({ sessionId: 's0', status: 'completed' }))
  await first
  const errors: string[] = []
  client.on('error', ({ context }) => { errors.push(context) })
  const handled: string[] = []
  client.onMessage('task_end', () => { throw new Error('typed handler') })
  const done = new Promise<void>((resolve) => {
    client.onAnyMessage((message) => {
      handled.push(message.session_id ?? '')
      resolve()
    })
  })
  await server.send(buildTaskEnd({ sessionId: 's1', status: 'completed' }))
  await done
  t.same(handled, ['s1'])
  t.same(errors, ['handler'])
})
