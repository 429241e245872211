import { test } from 'tap'
import { ReconnectionStrategy } from '@aip/resilience'
import { client, nextEvent, serverFrame, startScripted, type ScriptedServer } from './helpers/net.js'

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

test('a close 1012 without a hint (another reason) takes the usual backoff', async (t) => {
  const server = await startScripted(t)
  const device = client(t, { wsUrl: server.wsUrl, clientId: 'dev1', reconnectionStrategy: slow(), continuity: false })
  const started = device.start()
  const peer = await accept(server)
  await started
  const reconnecting = nextEvent(device, 'reconnecting')
  peer.ws.close(1012, 'server draining')
  t.equal((await reconnecting).delayMs, 30_000, 'the first backoff delay')
})

test('a drain hint on another close code is no hint', async (t) => {
  const server = await startScripted(t)
  const device = client(t, { wsUrl: server.wsUrl, clientId: 'dev1', reconnectionStrategy: slow(), continuity: false })
  const started = device.start()
  const peer = await accept(server)
  await started
  const reconnecting = nextEvent(device, 'reconnecting')
  peer.ws.close(1001, 'aip-drain retry-ms=10000')
  t.equal((await reconnecting).delayMs, 30_000)
})
