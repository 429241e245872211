import { test } from 'tap'
import { createLinkedTransports, type Transport } from '@aip/endpoint'
import { DeviceServerEndpoint } from '../src/index.js'

/** The server side of a linked pair, with a `bufferedAmount` the test sets (a peer that stopped reading). */
function slowPeer (server: Transport): Transport & { backlog: number } {
  return {
    backlog: 0,
    get isOpen () { return server.isOpen },
    get bufferedAmount () { return this.backlog },
    send: async (data) => await server.send(data),
    close: (code, reason) => server.close(code, reason),
    terminate: () => server.terminate(),
    ping: () => server.ping(),
    on: (event, listener) => server.on(event, listener)
  }
}

function logCapture (): { warn: string[], logger: { debug: () => void, info: () => void, warn: (obj: unknown, msg?: string) => void, error: () => void } } {
  const warn: string[] = []
  return { warn, logger: { debug: () => {}, info: () => {}, warn: (_obj, msg) => { warn.push(msg ?? '') }, error: () => {} } }
}

test('a peer whose unread bytes pass maxOutboundBytes is closed with 1008, logged once, and sent nothing more', async (t) => {
  const log = logCapture()
  const endpoint = new DeviceServerEndpoint({ pingIntervalMs: 0, maxOutboundBytes: 1000, logger: log.logger })
  t.teardown(() => endpoint.stop())
  const [client, server] = createLinkedTransports()
  const peer = slowPeer(server)
  const received: string[] = []
  client.on('message', (data) => received.push(String(data)))
  const closed = new Promise<number>((resolve) => client.on('close', (info) => resolve(info.code)))
  endpoint.handleTransport(peer)
  await client.send(JSON.stringify({ type: 'register', status: 'ok', client_type: 'device', client_id: 'slow' }))
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(received.length, 1, 'registered')
  peer.backlog = 5000
  const heartbeat = JSON.stringify({ type: 'heartbeat', status: 'ok', client_type: 'device', client_id: 'slow' })
  await client.send(heartbeat)
  await client.send(heartbeat).catch(() => {})
  t.equal(await closed, 1008)
  t.ok(received.length <= 2, 'nothing is sent after the answer that passed the budget')
  t.equal(log.warn.filter((msg) => msg.includes('outbound budget exceeded')).length, 1, 'logged once')
})

test('maxOutboundBytes must be a positive integer', async (t) => {
  t.throws(() => new DeviceServerEndpoint({ maxOutboundBytes: 0 }), { code: 'AIP_ERR_INVALID_OPTION' })
})
