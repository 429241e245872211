import { test } from 'tap'
import { ReconnectionStrategy } from '@aip/resilience'
import { client, nextEvent, serverFrame, startScripted, type ScriptedServer, type Teardown } from './helpers/net.js'

/** A strategy whose backoff is far too long for a test: an attempt that comes quickly took the hint instead. */
const slow = (): ReconnectionStrategy => new ReconnectionStrategy({ maxRetries: Infinity, initialBackoffMs: 30_000, jitter: false, random: () => 0.001 })

/** Registers the next connection of `server`: reads the REGISTER, answers HEARTBEAT ok. */
async function accept (server: ScriptedServer) {
  const peer = await server.connection()
  const register = await peer.next()
  if (register.type !== 'register') throw new Error(`expected a REGISTER, got ${String(register.type)}`)
  peer.send(serverFrame({ type: 'heartbeat', status: 'ok' }))
  return peer
}

test('a close 1012 with a drain hint: the next attempt waits a random delay within the hint, next server first', async (t) => {
  const first = await startScripted(t)
  const second = await startScripted(t)
  const device = client(t, { wsUrl: [first.wsUrl, second.wsUrl], clientId: 'dev1', reconnectionStrategy: slow() })
  const started = device.start()
  const peer = await accept(first)
  await started
  const reconnecting = nextEvent(device, 'reconnecting')
  const registeredOn = nextEvent(device, 'registeredOn')
  peer.ws.close(1012, 'aip-drain retry-ms=10000')
  const state = await reconnecting
  t.equal(state.delayMs, 10, 'a draw within [0, 10000] (random 0.001), not the 30 s backoff')
  t.equal(state.cause.code, 1012)
  await accept(second)
  t.same(await registeredOn, { url: second.wsUrl, index: 1 }, 'registered on the next server')
  t.equal(first.peers.length, 1, 'the draining server was not tried first')
})

/** The delay of the first reconnection attempt of a registered device whose server closes with `code`, `reason`. */
async function firstDelayAfterClose (t: Teardown, code: number, reason: string): Promise<number> {
  const server = await startScripted(t)
  const device = client(t, { wsUrl: server.wsUrl, clientId: 'dev1', reconnectionStrategy: slow(), continuity: false })
  const started = device.start()
  const peer = await accept(server)
  await started
  const reconnecting = nextEvent(device, 'reconnecting')
  peer.ws.close(code, reason)
  return (await reconnecting).delayMs
}

test('a close 1012 without a hint (another reason) takes the usual backoff', async (t) => {
  t.equal(await firstDelayAfterClose(t, 1012, 'server draining'), 30_000, 'the first backoff delay')
})

test('a drain hint on another close code is no hint', async (t) => {
  t.equal(await firstDelayAfterClose(t, 1001, 'aip-drain retry-ms=10000'), 30_000)
})
