import { test } from 'tap'
import { CloseCode, type CloseInfo, type Transport, type TransportEvents } from '@aip/endpoint'
import { DeviceServerEndpoint } from '../src/index.js'

/** A transport whose peer never answers a close: it stays closing until it is terminated. */
class SilentPeerTransport implements Transport {
  readonly bufferedAmount = 0
  isOpen = true
  closeSent: { code?: number, reason?: string } | null = null
  terminated = false
  #onClose: Array<(info: CloseInfo) => void> = []

  async send (): Promise<void> {}
  ping (): void {}
  close (code?: number, reason?: string): void {
    this.isOpen = false
    this.closeSent = { code, reason }
  }

  terminate (): void {
    if (this.terminated) return
    this.terminated = true
    this.isOpen = false
    for (const listener of this.#onClose.splice(0)) listener({ code: 1006, reason: '', local: true })
  }

  on<E extends keyof TransportEvents>(event: E, listener: (payload: TransportEvents[E]) => void): () => void {
    if (event === 'close') this.#onClose.push(listener as (info: CloseInfo) => void)
    return () => {}
  }
}

test('a connection refused while stopping, whose peer never answers the close, is dropped by terminateConnections', async (t) => {
  const server = new DeviceServerEndpoint({ pingIntervalMs: 0 })
  await server.stop()
  const late = new SilentPeerTransport()
  server.handleTransport(late)
  t.same(late.closeSent, { code: CloseCode.GoingAway, reason: 'The server is shutting down' }, 'refused with 1001')
  t.notOk(late.terminated, 'not dropped while its close handshake may still complete')
  t.equal(server.terminateConnections(), 1, 'counted among the connections dropped')
  t.ok(late.terminated, 'dropped')
  t.equal(server.terminateConnections(), 0, 'and forgotten once closed')
})

test('a refused connection whose close completes is not held', async (t) => {
  const server = new DeviceServerEndpoint({ pingIntervalMs: 0, token: 'secret' })
  t.teardown(() => server.stop())
  const refused = new SilentPeerTransport()
  server.handleTransport(refused, { headers: {}, url: '/ws' })
  t.equal(refused.closeSent?.code, CloseCode.PolicyViolation, 'refused for its credentials')
  refused.terminate()
  t.equal(server.terminateConnections(), 0, 'nothing left to drop')
})
