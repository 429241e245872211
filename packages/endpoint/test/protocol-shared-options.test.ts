import t from 'tap'
import { AIPEndpoint } from '../src/endpoint.js'
import { createLinkedTransports } from '../src/memory-transport.js'
import {
  AIPProtocol, isResolvedProtocolOptions, resolveProtocolOptions, type AnyMessage, type IncomingMessage
} from '../src/protocol/index.js'

t.test('resolveProtocolOptions validates once and returns a frozen object with the defaults and the middleware', async (t) => {
  const middleware = [{ processOutgoing: (m: AnyMessage) => m }]
  const resolved = resolveProtocolOptions({ role: 'server', maxQueuedFrames: 8, middleware })
  t.ok(Object.isFrozen(resolved))
  t.ok(Object.isFrozen(resolved.middleware))
  t.equal(resolved.role, 'server')
  t.equal(resolved.maxQueuedFrames, 8)
  t.equal(resolved.acceptTransfers, true)
  t.equal(resolved.chunkSize, 1024 * 1024)
  t.same(resolved.middleware, middleware)
  t.not(resolved.middleware, middleware, 'a copy: the caller may change its array afterwards')
  t.ok(isResolvedProtocolOptions(resolved))
  t.notOk(isResolvedProtocolOptions({ role: 'server' }))
  t.equal(resolveProtocolOptions(resolved), resolved, 'a resolved object is returned as it is')
  t.equal(resolveProtocolOptions({ role: 'client' }).maxQueuedFrames, Number.POSITIVE_INFINITY)
})

t.test('resolveProtocolOptions refuses a bad option with the invalid-option code', async (t) => {
  t.throws(() => resolveProtocolOptions({ role: 'server', maxFrameBytes: 0 }), { code: 'AIP_ERR_INVALID_OPTION' })
  t.throws(() => resolveProtocolOptions({ role: 'peer' as 'server' }), { code: 'AIP_ERR_INVALID_OPTION' })
  t.throws(() => resolveProtocolOptions({ role: 'server', middleware: {} as never }), { code: 'AIP_ERR_INVALID_OPTION' })
})

t.test('protocols built with one resolved object share it, and use() on one leaves the others alone', async (t) => {
  const resolved = resolveProtocolOptions({ role: 'client', maxFrameBytes: 1000 })
  const [a, peerA] = createLinkedTransports()
  const [b, peerB] = createLinkedTransports()
  const one = new AIPProtocol(a, resolved)
  const two = new AIPProtocol(b, resolved)
  t.teardown(() => { one.close(); two.close() })
  t.equal(one.options, resolved)
  t.equal(two.options, resolved)
  const seen: string[] = []
  one.use({ processIncoming: (m) => { seen.push(`one ${m.type}`) } })
  t.same(resolved.middleware, [], 'the shared list is unchanged')
  const serverA = new AIPProtocol(peerA, { role: 'server' })
  const serverB = new AIPProtocol(peerB, { role: 'server' })
  const gotOne = one.receive('heartbeat')
  const gotTwo = two.receive('heartbeat')
  await serverA.send({ type: 'heartbeat', status: 'ok' })
  await serverB.send({ type: 'heartbeat', status: 'ok' })
  await gotOne
  await gotTwo
  t.same(seen, ['one heartbeat'], 'only the protocol whose middleware it is ran it')
})

class Endpoint extends AIPEndpoint<'client'> {
  async start (): Promise<void> {}
  add (key: string): AIPProtocol<'client'> {
    return this.attachConnection(createLinkedTransports()[0], key)
  }

  handleMessage (_message: IncomingMessage<'client'>): void {}
}

t.test('an endpoint validates its protocol options once, at construction, and shares them with every connection', async (t) => {
  t.throws(() => new Endpoint('client', { protocol: { maxQueuedFrames: 0 } }), { code: 'AIP_ERR_INVALID_OPTION' })
  const endpoint = new Endpoint('client', { protocol: { maxQueuedFrames: 16 } })
  t.teardown(() => endpoint.stop())
  const one = endpoint.add('one')
  const two = endpoint.add('two')
  t.equal(one.options, two.options, 'one frozen object for every connection')
  t.equal(one.options.maxQueuedFrames, 16)
  t.equal(one.options.role, 'client')
  t.equal(one.options.logger, endpoint.options.logger)
})
