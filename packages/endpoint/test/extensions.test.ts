import t from 'tap'
import { buildHeartbeat, buildServerHeartbeat } from '@aip/protocol'
import { AIPProtocol } from '../src/protocol.js'
import { createLinkedTransports } from '../src/memory-transport.js'
import { attachExtension, type Extension } from '../src/extensions/extension.js'
import { loggingExtension } from '../src/extensions/logging.js'
import { metricsExtension } from '../src/extensions/metrics.js'
import { linkedProtocols, nextEvent } from './helpers.js'
import { TestEndpoint } from './test-endpoint.js'

function recorder (): { calls: string[], extension: Extension } {
  const calls: string[] = []
  return {
    calls,
    extension: {
      name: 'recorder',
      onConnect: ({ endpointId }) => { calls.push(`connect ${String(endpointId)}`) },
      onSend: (message, { bytes }) => { calls.push(`send ${message.type} ${bytes > 0}`) },
      onReceive: async (message) => { calls.push(`receive ${message.type}`) },
      onError: (error, where) => { calls.push(`error ${where} ${(error as { code?: string }).code ?? (error as Error).message}`) },
      onClose: (info) => { calls.push(`close ${info.code}`) }
    }
  }
}

t.test('every hook is called: connect, send, receive, error, close', async (t) => {
  const [a, b] = createLinkedTransports()
  const server = new AIPProtocol(b, { role: 'server' })
  const { calls, extension } = recorder()
  const endpoint = new TestEndpoint(() => a, { extensions: [extension] })
  await endpoint.start()
  const got = server.receive('heartbeat')
  await endpoint.sendWithTimeout(buildHeartbeat({ clientId: 'd', clientType: 'device' }), 1000)
  await got
  const received = endpoint.receiveWithTimeout('heartbeat', 1000)
  await server.send(buildServerHeartbeat())
  await received
  const invalid = nextEvent(endpoint.protocol as AIPProtocol<'client'>, 'invalidFrame')
  await b.send('nope')
  await invalid
  endpoint.fail = true
  const failed = nextEvent(endpoint, 'error')
  await server.send(buildServerHeartbeat())
  await failed
  await endpoint.stop(1000)
  t.same(calls, [
    'connect test-endpoint',
    'send heartbeat true',
    'receive heartbeat',
    'error invalidFrame AIP_ERR_PROTOCOL_INVALID_JSON',
    'receive heartbeat',
    'close 1000'
  ])
})

t.test('protocol-level errors reach onError: handler, middleware and transfer', async (t) => {
  const { client, server, serverTransport } = linkedProtocols()
  t.teardown(() => client.close())
  const { calls, extension } = recorder()
  attachExtension(client, extension)
  client.onMessage('heartbeat', () => { throw new Error('h') })
  const handled = nextEvent(client, 'error')
  await server.send(buildServerHeartbeat())
  await handled
  const transfer = nextEvent(client, 'transferError')
  await serverTransport.send(JSON.stringify({ type: 'file_transfer_complete', filename: 'f', total_chunks: 0 }))
  await transfer
  t.same(calls.filter((c) => c.startsWith('error')), ['error handler h', 'error transfer AIP_ERR_ENDPOINT_TRANSFER_ORDER'])
})

t.test('an extension added with use() joins the current connection; its removal detaches it', async (t) => {
  const [a, b] = createLinkedTransports()
  const server = new AIPProtocol(b, { role: 'server' })
  const endpoint = new TestEndpoint(() => a)
  const before = recorder()
  endpoint.use(before.extension)
  await endpoint.start()
  const late = recorder()
  const remove = endpoint.use(late.extension)
  const first = endpoint.receiveWithTimeout('heartbeat', 1000)
  await server.send(buildServerHeartbeat())
  await first
  remove()
  remove()
  const second = endpoint.receiveWithTimeout('heartbeat', 1000)
  await server.send(buildServerHeartbeat())
  await second
  await endpoint.stop()
  t.same(before.calls, ['connect test-endpoint', 'receive heartbeat', 'receive heartbeat', 'close 1000'])
  t.same(late.calls, ['connect test-endpoint', 'receive heartbeat'])
})

t.test('a hook that throws or rejects is logged and does not disturb the connection', async (t) => {
  const warned: unknown[] = []
  const logger = { debug () {}, info () {}, error () {}, warn (obj: unknown) { warned.push(obj) } }
  const { client, server } = linkedProtocols()
  t.teardown(() => client.close())
  attachExtension(client, {
    name: 'bad',
    onReceive: () => { throw new Error('sync') },
    onSend: async () => { throw new Error('async') }
  }, { logger })
  const got = client.receive('heartbeat')
  await server.send(buildServerHeartbeat())
  await got
  await client.send(buildHeartbeat({ clientId: 'd', clientType: 'device' }))
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(warned.length, 2)
  t.match(warned, [{ extension: 'bad', hook: 'onReceive' }, { extension: 'bad', hook: 'onSend' }])
})

t.test('the logging extension logs object first, with type and session id and never the payload', async (t) => {
  const lines: Array<{ level: string, obj: Record<string, unknown>, msg: string }> = []
  const log = (level: string) => (obj: object, msg?: string) => { lines.push({ level, obj: obj as Record<string, unknown>, msg: msg ?? '' }) }
  const logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') }
  const { client, server } = linkedProtocols()
  attachExtension(client, loggingExtension(logger), { endpointId: 'ws://h/ws' })
  const got = server.receive('heartbeat')
  await client.send(buildHeartbeat({ clientId: 'd', clientType: 'device', metadata: { token: 'secret' } }))
  await got
  const received = client.receive('task_end')
  await server.send({ type: 'task_end', status: 'completed', session_id: 's1', result: { token: 'secret' } })
  await received
  const invalid = nextEvent(client, 'invalidFrame')
  await (server.transport).send('x')
  await invalid
  const closed = client.closed
  client.close(1000, 'done')
  await closed
  t.match(lines, [
    { level: 'info', msg: 'aip connection established', obj: { endpointId: 'ws://h/ws' } },
    { level: 'debug', msg: 'aip message sent', obj: { direction: 'out', type: 'heartbeat', clientId: 'd', sessionId: null } },
    { level: 'debug', msg: 'aip message received', obj: { direction: 'in', type: 'task_end', sessionId: 's1', status: 'completed' } },
    { level: 'warn', msg: 'aip connection error', obj: { where: 'invalidFrame' } },
    { level: 'info', msg: 'aip connection closed', obj: { code: 1000, reason: 'done', local: true } }
  ])
  t.notMatch(JSON.stringify(lines), /secret/)
})

t.test('the metrics extension counts messages, bytes, errors, connects and closes', async (t) => {
  const metrics = metricsExtension()
  const { client, server, serverTransport } = linkedProtocols()
  attachExtension(client, metrics)
  const got = server.receive('heartbeat')
  await client.send(buildHeartbeat({ clientId: 'd', clientType: 'device' }))
  await got
  const received = client.receive('heartbeat', { filter: (m) => m.response_id === '2' })
  await server.send(buildServerHeartbeat({ responseId: '1' }))
  await server.send(buildServerHeartbeat({ responseId: '2' }))
  await received
  const invalid = nextEvent(client, 'invalidFrame')
  await serverTransport.send('x')
  await invalid
  client.close()
  await client.closed
  const snapshot = metrics.snapshot()
  t.equal(snapshot.sent.messages, 1)
  t.same(snapshot.sent.byType, { heartbeat: 1 })
  t.ok(snapshot.sent.bytes > 100)
  t.equal(snapshot.received.messages, 2)
  t.same(snapshot.received.byType, { heartbeat: 2 })
  t.same(snapshot.errors, { invalidFrame: 1 })
  t.equal(snapshot.connects, 1)
  t.equal(snapshot.closes, 1)
  t.ok(Object.isFrozen(snapshot.sent.byType))
  metrics.reset()
  t.same(metrics.snapshot(), { sent: { messages: 0, bytes: 0, byType: {} }, received: { messages: 0, bytes: 0, byType: {} }, errors: {}, connects: 0, closes: 0 })
})
