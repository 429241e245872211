import t from 'tap'
import { buildHeartbeat, buildServerHeartbeat, type AnyMessage } from './protocol-types.js'
import type { ProtocolMiddleware } from '../src/protocol/index.js'
import { linkedProtocols, nextEvent } from './helpers.js'

function tagging (name: string, log: string[]): ProtocolMiddleware {
  return {
    async processOutgoing (message) {
      log.push(`out ${name}`)
      await Promise.resolve()
      const metadata = (message as { metadata?: Record<string, unknown> | null }).metadata ?? {}
      return { ...message, metadata: { ...metadata, [name]: true } } as AnyMessage
    },
    processIncoming (message) {
      log.push(`in ${name}`)
      return undefined
    }
  }
}

t.test('outgoing middleware runs in registration order and may change the message', async (t) => {
  const log: string[] = []
  const { client, server } = linkedProtocols({ middleware: [tagging('a', log)] })
  t.teardown(() => client.close())
  client.use(tagging('b', log))
  const received = server.receive('heartbeat')
  await client.send(buildHeartbeat({ clientId: 'd', clientType: 'device' }))
  const message = await received
  t.same(log, ['out a', 'out b'])
  t.same(message.metadata, { a: true, b: true })
})

t.test('incoming middleware runs in reverse registration order, on every message', async (t) => {
  const log: string[] = []
  const { client, server } = linkedProtocols()
  t.teardown(() => client.close())
  client.use(tagging('a', log))
  client.use(tagging('b', log))
  client.use({})
  const second = client.receive('heartbeat', { filter: (m) => m.response_id === '2' })
  await server.send(buildServerHeartbeat({ responseId: '1' }))
  await server.send(buildServerHeartbeat({ responseId: '2' }))
  await second
  t.same(log, ['in b', 'in a', 'in b', 'in a'])
})

t.test('a middleware that returns null drops the message in either direction', async (t) => {
  const { client, server } = linkedProtocols()
  t.teardown(() => client.close())
  const remove = client.use({ processOutgoing: () => null, processIncoming: (m) => (m.session_id === 'drop' ? null : m) })
  const seen: string[] = []
  server.onAnyMessage((m) => { seen.push(m.type) })
  await client.send(buildHeartbeat({ clientId: 'd', clientType: 'device' }))
  const kept = client.receive('heartbeat')
  await server.send(buildServerHeartbeat({ sessionId: 'drop', responseId: 'x' }))
  await server.send(buildServerHeartbeat({ responseId: 'y' }))
  t.equal((await kept).response_id, 'y')
  remove()
  remove()
  const arrived = server.receive('heartbeat')
  await client.send(buildHeartbeat({ clientId: 'd', clientType: 'device' }))
  await arrived
  t.same(seen, ['heartbeat'], 'only the message sent after removal arrived')
})

t.test('an incoming middleware that throws drops the frame and emits an error event', async (t) => {
  const { client, server } = linkedProtocols()
  t.teardown(() => client.close())
  const boom = new Error('bad')
  client.use({ processIncoming: (m) => { if ((m as { response_id?: string }).response_id === '1') throw boom } })
  const error = nextEvent<{ error: unknown, context: string }>(client, 'error')
  const next = client.receive('*')
  await server.send(buildServerHeartbeat({ responseId: '1' }))
  await server.send(buildServerHeartbeat({ responseId: '2' }))
  t.match(await error, { error: boom, context: 'middleware', message: { response_id: '1' } })
  t.equal((await next).response_id, '2', 'the dropped frame never reached a waiter')
})

t.test('an outgoing middleware that throws rejects the send, and later sends still go', async (t) => {
  const { client, server } = linkedProtocols()
  t.teardown(() => client.close())
  const remove = client.use({ processOutgoing: () => { throw new Error('nope') } })
  await t.rejects(client.send(buildHeartbeat({ clientId: 'd', clientType: 'device' })), { message: 'nope' })
  remove()
  const arrived = server.receive('heartbeat')
  await client.send(buildHeartbeat({ clientId: 'd', clientType: 'device' }))
  t.equal((await arrived).client_id, 'd')
})
