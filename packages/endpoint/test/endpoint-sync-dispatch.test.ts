import t from 'tap'
import { AIPEndpoint } from '../src/endpoint.js'
import type { AIPProtocol, IncomingMessage } from '../src/protocol/index.js'
import { receiveClose, receiveFrame, type Transport, type TransportEvents, type TransportReceiver } from '../src/transport.js'

/** A transport whose frames the test hands to the receiver itself, synchronously. */
class PushTransport implements Transport {
  readonly bufferedAmount = 0
  isOpen = true
  receiver: TransportReceiver | null = null
  async send (): Promise<void> {}
  close (code = 1000, reason = ''): void {
    if (!this.isOpen) return
    this.isOpen = false
    const receiver = this.receiver
    this.receiver = null
    receiver?.[receiveClose]({ code, reason, local: true })
  }

  terminate (): void { this.close(1006) }
  ping (): void {}
  on<E extends keyof TransportEvents>(_event: E, _listener: (payload: TransportEvents[E]) => void): () => void { return () => {} }
  setReceiver (receiver: TransportReceiver | null): void { this.receiver = receiver }
  push (frame: Record<string, unknown>): void {
    this.receiver?.[receiveFrame](JSON.stringify({ type: 'heartbeat', status: 'ok', ...frame }))
  }
}

/** An endpoint whose handler is synchronous unless the frame asks otherwise (`error`: "throw" or "reject"). */
class RecordingEndpoint extends AIPEndpoint<'client'> {
  readonly handled: string[] = []

  async start (): Promise<void> {}
  add (transport: Transport): AIPProtocol<'client'> {
    return this.attachConnection(transport, 'only')
  }

  handleMessage (message: IncomingMessage<'client'>): Promise<void> | undefined {
    this.handled.push(message.session_id ?? '')
    if (message.error === 'throw') throw new Error('handler threw')
    if (message.error === 'reject') return Promise.reject(new Error('handler rejected'))
    return undefined
  }
}

t.test('a handleMessage that returns nothing gets the next frame in the same turn: no promise or microtask per message', async (t) => {
  const endpoint = new RecordingEndpoint('client')
  t.teardown(() => endpoint.stop())
  const transport = new PushTransport()
  endpoint.add(transport)
  const errors: unknown[] = []
  endpoint.on('error', (event) => errors.push(event.error))
  transport.push({ session_id: 'a' })
  transport.push({ session_id: 'b', error: 'throw' })
  transport.push({ session_id: 'c' })
  t.same(endpoint.handled, ['a', 'b', 'c'], 'every frame handled before the pushes returned, the one that threw included')
  t.match(errors, [{ message: 'handler threw' }], 'a throw is an error event, at once')
  transport.push({ session_id: 'd', error: 'reject' })
  transport.push({ session_id: 'e' })
  t.same(endpoint.handled, ['a', 'b', 'c', 'd'], 'a returned promise holds the next frame until it settles')
  await new Promise((resolve) => setImmediate(resolve))
  t.same(endpoint.handled, ['a', 'b', 'c', 'd', 'e'], 'then the inbox goes on')
  t.match(errors, [{ message: 'handler threw' }, { message: 'handler rejected' }], 'a rejection is an error event too')
})
