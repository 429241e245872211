import t from 'tap'
import { buildServerHeartbeat } from '@aip/protocol'
import { AIPEndpoint, type EndpointOptions } from '../src/endpoint.js'
import { AIPProtocol, type IncomingMessage, type ProtocolEvents } from '../src/protocol/index.js'
import { createLinkedTransports } from '../src/memory-transport.js'
import type { CloseInfo, Transport } from '../src/transport.js'
import { nextEvent } from './helpers.js'

/** An endpoint that records its connection hooks, in order with everything else a test pushes. */
class HookedEndpoint extends AIPEndpoint<'client'> {
  readonly order: string[]
  hold: Promise<void> | undefined
  throwing = false

  constructor (order: string[], options: EndpointOptions = {}) {
    super('client', options)
    this.order = order
  }

  async start (): Promise<void> {}
  add (transport: Transport, key: string): AIPProtocol<'client'> {
    return this.attachConnection(transport, key)
  }

  remove (key: string): AIPProtocol<'client'> | undefined {
    return this.detachConnection(key)
  }

  handleMessage (_message: IncomingMessage<'client'>, _key: string): Promise<void> | undefined {
    return this.hold
  }

  protected override handleInvalidFrame (event: ProtocolEvents<'client'>['invalidFrame'], key: string): void {
    this.order.push(`hook invalidFrame ${key} ${event.bytes}`)
    if (this.throwing) throw new Error('hook failed')
  }

  protected override handleQueueFull (event: ProtocolEvents<'client'>['queueFull'], key: string): void {
    this.order.push(`hook queueFull ${key} ${event.queued}`)
  }

  protected override handleTransportClose (info: CloseInfo, key: string, protocol: AIPProtocol<'client'>): void {
    this.order.push(`hook transportClose ${key} ${info.code}${protocol === this.connection(key) ? '' : ' (detached)'}`)
  }

  protected override handleClose (info: CloseInfo, key: string, protocol: AIPProtocol<'client'>): void {
    this.order.push(`hook close ${key} ${info.code} ${protocol.isOpen ? 'open' : 'closed'}`)
  }
}

function connect (endpoint: HookedEndpoint, key: string): { mine: AIPProtocol<'client'>, peer: AIPProtocol<'server'>, raw: Transport } {
  const [a, b] = createLinkedTransports()
  const mine = endpoint.add(a, key)
  return { mine, peer: new AIPProtocol(b, { role: 'server' }), raw: b }
}

t.test('an invalid frame reaches handleInvalidFrame with the key, before the protocol listeners', async (t) => {
  const order: string[] = []
  const endpoint = new HookedEndpoint(order)
  t.teardown(() => endpoint.stop())
  const { mine, raw } = connect(endpoint, 'k1')
  mine.on('invalidFrame', (event) => order.push(`listener invalidFrame ${event.bytes}`))
  const seen = nextEvent(mine, 'invalidFrame')
  await raw.send('not json')
  await seen
  t.same(order, ['hook invalidFrame k1 8', 'listener invalidFrame 8'])
})

t.test('a hook that throws does not stop the protocol listeners', async (t) => {
  const order: string[] = []
  const endpoint = new HookedEndpoint(order)
  endpoint.throwing = true
  t.teardown(() => endpoint.stop())
  const { mine, raw } = connect(endpoint, 'k1')
  mine.on('invalidFrame', () => order.push('listener invalidFrame'))
  const seen = nextEvent(mine, 'invalidFrame')
  await raw.send('{')
  await seen
  t.same(order, ['hook invalidFrame k1 1', 'listener invalidFrame'])
})

t.test('a frame dropped by a full queue reaches handleQueueFull with the key, before the protocol listeners', async (t) => {
  const order: string[] = []
  const endpoint = new HookedEndpoint(order, { protocol: { maxQueuedFrames: 1 } })
  t.teardown(() => endpoint.stop())
  let release = (): void => {}
  endpoint.hold = new Promise((resolve) => { release = resolve })
  const { mine, peer } = connect(endpoint, 'k2')
  mine.on('queueFull', (event) => order.push(`listener queueFull ${event.queued}`))
  const full = nextEvent(mine, 'queueFull')
  await peer.send(buildServerHeartbeat({ responseId: 'held' }))
  await peer.send(buildServerHeartbeat({ responseId: 'dropped' }))
  await full
  release()
  t.same(order, ['hook queueFull k2 1', 'listener queueFull 1'])
})

t.test('handleClose runs once, after disconnected, the close listeners and the extensions\' onClose', async (t) => {
  const order: string[] = []
  const endpoint = new HookedEndpoint(order, {
    extensions: [{ onClose: (info) => { order.push(`extension onClose ${info.code}`) } }]
  })
  t.teardown(() => endpoint.stop())
  endpoint.on('disconnected', ({ endpointId }) => order.push(`disconnected ${endpointId ?? ''}`))
  const { mine, peer } = connect(endpoint, 'k3')
  mine.on('close', (info) => order.push(`listener close ${info.code}`))
  peer.close(1000)
  await mine.closed
  t.same(order, ['disconnected k3', 'extension onClose 1000', 'listener close 1000', 'hook close k3 1000 closed', 'hook transportClose k3 1000 (detached)'],
    'with no frame waiting, the protocol\'s close is handled before the transport-close hook returns')
})

t.test('a connection detached before its close reaches no hook', async (t) => {
  const order: string[] = []
  const endpoint = new HookedEndpoint(order)
  t.teardown(() => endpoint.stop())
  const { mine, peer, raw } = connect(endpoint, 'k4')
  endpoint.remove('k4')
  mine.on('invalidFrame', () => order.push('listener invalidFrame'))
  const seen = nextEvent(mine, 'invalidFrame')
  await raw.send('nope')
  await seen
  peer.close(1000)
  await mine.closed
  t.same(order, ['listener invalidFrame'])
})

t.test('handleTransportClose comes at once, before the frames still waiting; handleClose after them', async (t) => {
  const order: string[] = []
  const endpoint = new HookedEndpoint(order)
  t.teardown(() => endpoint.stop())
  let release = (): void => {}
  endpoint.hold = new Promise<void>((resolve) => { release = resolve })
  const { mine, peer } = connect(endpoint, 'k5')
  const handled = nextEvent(mine, 'received')
  await peer.send(buildServerHeartbeat({ responseId: 'held' }))
  await handled
  const waiting = nextEvent(mine, 'received')
  const transportClosed = new Promise<void>((resolve) => { mine.transport.on('close', () => resolve()) })
  await peer.send(buildServerHeartbeat({ responseId: 'waiting' }))
  peer.close(1000)
  await transportClosed
  await new Promise((resolve) => setImmediate(resolve))
  t.same(order, ['hook transportClose k5 1000'], 'told at once, while a handler holds the inbox')
  t.equal(mine.queuedFrames, 3, 'the frame being handled, the one waiting and the close')
  endpoint.hold = undefined
  release()
  await waiting
  await mine.closed
  t.same(order, ['hook transportClose k5 1000', 'hook close k5 1000 closed'])
})
