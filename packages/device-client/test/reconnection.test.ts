import { test } from 'tap'
import { ReconnectionStrategy } from '@aip/resilience'
import { client, nextEvent, serverFrame, startProxy, startScripted, startServer } from './helpers/net.js'

const fast = (): ReconnectionStrategy => new ReconnectionStrategy({ maxRetries: Infinity, initialBackoffMs: 20, maxBackoffMs: 100 })

/** A device registered on a scripted server, with the server side of its connection. */
async function registeredOnScripted (t: Parameters<typeof startScripted>[0]) {
  const scripted = await startScripted(t)
  const device = client(t, { wsUrl: scripted.wsUrl, clientId: 'dev1', reconnectionStrategy: fast() })
  const started = device.start()
  const peer = await scripted.connection()
  await peer.next()
  peer.send(serverFrame({ type: 'heartbeat', status: 'ok' }))
  await started
  return { scripted, device, peer }
}

test('a server restart: 1001, reconnecting, then registered again on the new server', async (t) => {
  const first = await startServer(t)
  const device = client(t, { wsUrl: first.wsUrl, clientId: 'dev1', reconnectionStrategy: fast() })
  await device.start()
  const reconnecting = nextEvent(device, 'reconnecting')
  await first.close()
  const state = await reconnecting
  t.equal(state.cause.kind, 'closed')
  t.equal(state.cause.code, 1001, 'the server went away')
  t.equal(state.attempt, 1)
  const registered = nextEvent(device, 'registered')
  const second = await startServer(t, {}, first.port)
  await registered
  t.ok(second.endpoint.isConnected('dev1'), 're-registered on the new server')
  t.equal(device.status.kind, 'registered')
})

test('a TCP connection cut by a proxy: 1006, reconnection through the proxy', async (t) => {
  const server = await startServer(t)
  const proxy = await startProxy(t, server.port)
  const device = client(t, { wsUrl: `ws://127.0.0.1:${proxy.port}/ws`, clientId: 'dev1', reconnectionStrategy: fast() })
  await device.start()
  const disconnected = nextEvent(device, 'disconnected')
  const registered = nextEvent(device, 'registered')
  proxy.cut()
  const end = await disconnected
  t.equal(end.code, 1006)
  t.equal(end.cause.kind, 'closed')
  await registered
  t.equal(proxy.connections, 2, 'a second connection went through the proxy')
  t.ok(device.isConnected())
})

test('a half-open connection (the proxy stalls both ways): declared dead within deadAfterMs, then replaced', async (t) => {
  const server = await startServer(t, { takeoverProbeMs: 100 })
  const proxy = await startProxy(t, server.port)
  const device = client(t, {
    wsUrl: `ws://127.0.0.1:${proxy.port}/ws`,
    clientId: 'dev1',
    reconnectionStrategy: fast(),
    pingIntervalMs: 40,
    deadAfterMs: 200,
    heartbeatIntervalMs: 60_000
  })
  await device.start()
  const disconnected = nextEvent(device, 'disconnected')
  const stalledAt = performance.now()
  proxy.stall()
  const end = await disconnected
  const detectedMs = performance.now() - stalledAt
  t.equal(end.cause.kind, 'silence')
  t.ok(detectedMs >= 150 && detectedMs < 200 + 40 + 500, `noticed after ${Math.round(detectedMs)} ms (bound: deadAfterMs + pingIntervalMs)`)
  const registered = nextEvent(device, 'registered')
  proxy.resume()
  await registered
  t.ok(server.endpoint.isConnected('dev1'), 'the server replaced the dead connection (duplicate refusals were retried)')
})

test('heartbeats without acks: dead after maxMissedHeartbeats, reconnects', async (t) => {
  const scripted = await startScripted(t, { answerHeartbeats: false })
  const device = client(t, { wsUrl: scripted.wsUrl, clientId: 'dev1', reconnectionStrategy: fast(), heartbeatIntervalMs: 30, maxMissedHeartbeats: 2, deadAfterMs: 60_000 })
  const started = device.start()
  const peer = await scripted.connection()
  await peer.next()
  peer.send(serverFrame({ type: 'heartbeat', status: 'ok' }))
  await started
  const reconnecting = await nextEvent(device, 'reconnecting')
  t.equal(reconnecting.cause.kind, 'heartbeat')
  t.match(reconnecting.cause.message, /2 heartbeats in a row got no ack/)
  t.ok(peer.frames.filter((f) => f.type === 'heartbeat').length >= 2, 'heartbeats were sent')
  const second = await scripted.connection()
  t.equal((await second.next()).type, 'register', 'registers again')
})

test('a fatal refusal during reconnection stops the loop', async (t) => {
  const first = await startServer(t)
  const device = client(t, { wsUrl: first.wsUrl, clientId: 'dev1', reconnectionStrategy: fast() })
  await device.start()
  const stopped = nextEvent(device, 'stopped')
  await first.close()
  await startServer(t, { token: 'now-required' }, first.port)
  const state = await stopped
  t.equal(state.reason, 'fatal')
  t.equal((state.error as { code?: string } | undefined)?.code, 'AIP_ERR_DEVICE_CONNECTION')
  t.ok((state.error as { httpStatus?: number }).httpStatus === 401 || (state.error as { httpStatus?: number }).httpStatus === 403)
  t.equal(device.status.kind, 'stopped')
})

test('closed by the server with 4004 (another connection took the id): fatal', async (t) => {
  const { device, peer } = await registeredOnScripted(t)
  const stopped = nextEvent(device, 'stopped')
  peer.ws.close(4004, 'Replaced by a new connection of the same client')
  const state = await stopped
  t.equal(state.reason, 'fatal')
  t.equal(state.failure, 'identity-conflict')
  t.equal((state.error as { closeCode?: number }).closeCode, 4004)
})

test('a server that refuses a live connection for its behaviour (1008) is reconnected to', async (t) => {
  const { scripted, device, peer } = await registeredOnScripted(t)
  const reconnecting = nextEvent(device, 'reconnecting')
  peer.ws.close(1008, 'too many frames in flight')
  t.equal((await reconnecting).cause.code, 1008)
  const second = await scripted.connection()
  t.equal((await second.next()).type, 'register', 'registers again')
})

test('a refusal that can heal (the server is busy) is retried until the server accepts', async (t) => {
  const scripted = await startScripted(t)
  const device = client(t, { wsUrl: scripted.wsUrl, clientId: 'dev1', reconnectionStrategy: fast() })
  const started = device.start()
  for (let i = 0; i < 3; i++) {
    const peer = await scripted.connection()
    await peer.next()
    peer.send(serverFrame({ type: 'error', status: 'error', error: 'The server runs too many tasks; try again later' }))
    peer.ws.close(4002, 'busy')
  }
  const peer = await scripted.connection()
  await peer.next()
  peer.send(serverFrame({ type: 'heartbeat', status: 'ok' }))
  await started
  t.equal(device.status.kind, 'registered', 'three busy refusals did not end the device')
})

test('stop() during a backoff ends at once and leaves nothing behind', async (t) => {
  const server = await startServer(t)
  const strategy = new ReconnectionStrategy({ maxRetries: Infinity, initialBackoffMs: 30_000, jitter: false })
  // Without continuity: a resume window would cap the wait (see reconnect-within-resume-window.test.ts).
  const device = client(t, { wsUrl: server.wsUrl, clientId: 'dev1', reconnectionStrategy: strategy, continuity: false })
  await device.start()
  const reconnecting = nextEvent(device, 'reconnecting')
  await server.close()
  const state = await reconnecting
  t.equal(state.delayMs, 30_000)
  const before = performance.now()
  await device.stop()
  t.ok(performance.now() - before < 1000, 'stop() does not wait for the backoff')
  t.same(device.status, { kind: 'stopped', reason: 'stopped' })
  t.notOk(strategy.isReconnecting('dev1'), 'the strategy has nothing in flight')
})

test('start() against a server that is not there yet retries until it comes', async (t) => {
  const placeholder = await startServer(t)
  const port = placeholder.port
  await placeholder.close()
  const device = client(t, { wsUrl: `ws://127.0.0.1:${port}/ws`, clientId: 'dev1', reconnectionStrategy: fast() })
  const started = device.start()
  const reconnecting = await nextEvent(device, 'reconnecting')
  t.equal(reconnecting.cause.kind, 'connect')
  await startServer(t, {}, port)
  await started
  t.equal(device.status.kind, 'registered')
})
