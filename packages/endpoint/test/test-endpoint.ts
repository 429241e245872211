import { AIPEndpoint, type EndpointOptions } from '../src/endpoint.js'
import type { IncomingMessage } from '../src/protocol/index.js'
import type { Transport } from '../src/transport.js'

/** A minimal concrete endpoint: `start()` attaches the transport it was given. */
export class TestEndpoint extends AIPEndpoint<'client'> {
  readonly handled: Array<IncomingMessage<'client'>> = []
  fail = false
  readonly #transport: () => Transport

  constructor (transport: () => Transport, options?: EndpointOptions) {
    super('client', options)
    this.#transport = transport
  }

  async start (): Promise<void> {
    this.attachConnection(this.#transport(), 'test-endpoint')
  }

  handleMessage (message: IncomingMessage<'client'>): void {
    if (this.fail) throw new Error('handler failed')
    this.handled.push(message)
  }
}
