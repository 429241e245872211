import { test } from 'tap'
import { ReconnectionStrategy } from '@aip/resilience'
import { ConstellationEndpoint } from '../src/index.js'
import { scriptedServer, serverFrame, type ScriptedSocket } from './helpers.js'

/** A server that accepts every REGISTER and hands the socket to `then`. */
async function accepting (t: Parameters<typeof scriptedServer>[0], then: (socket: ScriptedSocket) => void = () => {}) {
  let connections = 0
  const server = await scriptedServer(t, async (socket) => {
    connections++
    const register = await socket.next()
    if (register.type !== 'register') throw new Error('expected a REGISTER')
    socket.send(serverFrame({ type: 'heartbeat', status: 'ok' }))
    then(socket)
  })
  return { url: server.url, get connections () { return connections } }
}

test('a close 1012 with a drain hint: the device reconnects within the hint, through the next server first', async (t) => {
  let drainFirst: ((code: number, reason: string) => void) | undefined
  const first = await accepting(t, (socket) => { drainFirst = (code, reason) => socket.ws.close(code, reason) })
  const second = await accepting(t)
  // The backoff is far too long for a test: an attempt that comes quickly took the hint instead.
  const strategy = new ReconnectionStrategy({ maxRetries: Infinity, initialBackoffMs: 30_000, jitter: false, random: () => 0.001 })
  const galaxy = new ConstellationEndpoint({ taskName: 'galaxy', reconnectionStrategy: strategy, heartbeatIntervalMs: 60_000, continuity: false })
  t.teardown(() => galaxy.stop())
  await galaxy.connectToDevice({ deviceId: 'dev1', serverUrl: [first.url, second.url] })
  const delays: number[] = []
  strategy.on('attempt', ({ delayMs }) => delays.push(delayMs))
  const back = new Promise<string>((resolve) => {
    const off = galaxy.on('deviceState', ({ to, serverUrl }) => { if (to === 'connected') { off(); resolve(serverUrl) } })
  })
  drainFirst?.(1012, 'aip-drain retry-ms=10000')
  t.equal(await back, second.url, 'connected again, through the next server')
  t.same(delays, [10], 'one wait, drawn within [0, 10000] (random 0.001), not the 30 s backoff')
  t.equal(first.connections, 1, 'the draining server was not tried first')
})

test('a close 1012 with another reason takes the usual backoff', async (t) => {
  let drain: ((code: number, reason: string) => void) | undefined
  const server = await accepting(t, (socket) => { drain = (code, reason) => socket.ws.close(code, reason) })
  const strategy = new ReconnectionStrategy({ maxRetries: Infinity, initialBackoffMs: 30_000, jitter: false })
  const galaxy = new ConstellationEndpoint({ taskName: 'galaxy', reconnectionStrategy: strategy, heartbeatIntervalMs: 60_000, continuity: false })
  t.teardown(() => galaxy.stop())
  await galaxy.connectToDevice({ deviceId: 'dev1', serverUrl: server.url })
  const attempt = new Promise<number>((resolve) => { const off = strategy.on('attempt', ({ delayMs }) => { off(); resolve(delayMs) }) })
  drain?.(1012, 'server draining')
  t.equal(await attempt, 30_000, 'the first backoff delay')
})
