import t from 'tap'
import { AIPEndpoint } from '../src/endpoint.js'
import { DEFAULT_LIFECYCLE, SERVER_LIFECYCLE, type ServerState, type StateChange } from '../src/lifecycle-state.js'
import type { IncomingMessage } from '../src/protocol.js'
import { collect } from './helpers.js'

class ServerLike extends AIPEndpoint<'server', never, ServerState> {
  constructor () {
    super('server', {}, SERVER_LIFECYCLE)
  }

  async start (): Promise<void> {
    this.transition('started')
    this.transition('listening')
  }

  move (to: ServerState): void {
    this.transition(to)
  }

  allowed (to: ServerState): boolean {
    return this.canTransition(to)
  }

  handleMessage (_message: IncomingMessage<'server'>): void {}
}

class Plain extends AIPEndpoint<'client'> {
  async start (): Promise<void> {
    this.transition('started')
  }

  handleMessage (): void {}
}

t.test('the server lifecycle goes created, started, listening, handling, stopped, each change an event', async (t) => {
  const endpoint = new ServerLike()
  const changes = collect<StateChange>(endpoint, 'stateChange')
  t.equal(endpoint.state, 'created')
  await endpoint.start()
  endpoint.move('handling')
  endpoint.move('handling')
  endpoint.move('listening')
  endpoint.move('handling')
  await endpoint.stop()
  t.equal(endpoint.state, 'stopped')
  t.same(changes, [
    { from: 'created', to: 'started' },
    { from: 'started', to: 'listening' },
    { from: 'listening', to: 'handling' },
    { from: 'handling', to: 'listening' },
    { from: 'listening', to: 'handling' },
    { from: 'handling', to: 'stopped' }
  ])
})

t.test('a transition the table does not allow throws the invalid-state code and changes nothing', async (t) => {
  const endpoint = new ServerLike()
  t.equal(endpoint.allowed('handling'), false)
  t.throws(() => endpoint.move('handling'), { code: 'AIP_ERR_ENDPOINT_INVALID_STATE' })
  t.equal(endpoint.state, 'created')
  await endpoint.stop()
  t.throws(() => endpoint.move('started'), { code: 'AIP_ERR_ENDPOINT_INVALID_STATE' })
  await endpoint.stop()
  t.equal(endpoint.state, 'stopped')
})

t.test('the default lifecycle is created, started, stopped, and may start again', async (t) => {
  t.equal(DEFAULT_LIFECYCLE.initial, 'created')
  const endpoint = new Plain('client')
  const changes = collect<StateChange>(endpoint, 'stateChange')
  await endpoint.start()
  t.equal(endpoint.state, 'started')
  await endpoint.stop()
  t.same(changes, [{ from: 'created', to: 'started' }, { from: 'started', to: 'stopped' }])
  await endpoint.start()
  t.equal(endpoint.state, 'started')
  await endpoint.stop()
})
