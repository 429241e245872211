import { test } from 'tap'
import { ConstellationEndpoint } from '../src/index.js'
import { scriptedServer, serverFrame, SimDevice, TestServer, waitFor } from './helpers.js'

test('with default options a device is never given up: a server down for many attempts is reconnected to', async (t) => {
  const server = await TestServer.start(t)
  const device = await SimDevice.start(t, server.wsUrl, 'dev1')
  const constellation = new ConstellationEndpoint({ taskName: 'g', reconnectionStrategy: { initialBackoffMs: 5, maxBackoffMs: 20 } })
  t.teardown(() => constellation.stop())
  const states: string[] = []
  constellation.on('deviceState', ({ to }) => states.push(to))
  await constellation.connectToDevice({ deviceId: 'dev1', serverUrl: server.wsUrl })
  await server.stop()
  // More failed attempts than the reference's budget of 5.
  await waitFor(() => states.filter((s) => s === 'connecting').length >= 12, 10_000, 'twelve attempts')
  t.notOk(states.includes('failed'), 'still not given up')
  await server.start()
  await device.connect()
  await waitFor(() => constellation.isDeviceConnected('dev1'), 10_000, 'reconnected')
  const end = await constellation.sendTaskToDevice('dev1', { request: '1', timeoutMs: 5000 })
  t.equal(end.status, 'completed', 'the next task completes')
})

test('a profile maxRetries is the one budget, even when the strategy allows more', async (t) => {
  const server = await TestServer.start(t)
  await SimDevice.start(t, server.wsUrl, 'dev1')
  const constellation = new ConstellationEndpoint({ taskName: 'g', reconnectionStrategy: { initialBackoffMs: 5, maxBackoffMs: 10, maxRetries: 50 } })
  t.teardown(() => constellation.stop())
  let attempts = 0
  constellation.on('deviceState', ({ to }) => { if (to === 'connecting') attempts++ })
  const failed = new Promise<unknown>((resolve) => constellation.on('deviceState', ({ to, failure }) => { if (to === 'failed') resolve(failure) }))
  await constellation.connectToDevice({ deviceId: 'dev1', serverUrl: server.wsUrl, maxRetries: 3 })
  attempts = 0
  await server.stop()
  t.equal(await failed, undefined, 'a spent budget names no unhealable failure')
  t.equal(attempts, 3, 'exactly the profile budget of attempts')
})

test('a target that has not registered again yet is retried until it has', async (t) => {
  const server = await TestServer.start(t)
  const device = await SimDevice.start(t, server.wsUrl, 'dev1')
  const constellation = new ConstellationEndpoint({ taskName: 'g', reconnectionStrategy: { initialBackoffMs: 5, maxBackoffMs: 20, maxRetries: 3 } })
  t.teardown(() => constellation.stop())
  const refusals: unknown[] = []
  constellation.on('deviceState', ({ to, error }) => { if (to === 'disconnected' && error !== undefined) refusals.push(error) })
  await constellation.connectToDevice({ deviceId: 'dev1', serverUrl: server.wsUrl, maxRetries: Infinity })
  await server.stop()
  await server.start()
  // The constellation is refused ("Target device 'dev1' is not connected") until the device is back.
  await waitFor(() => refusals.some((e) => (e as { code?: string }).code === 'AIP_ERR_CONSTELLATION_REGISTRATION_REFUSED'), 10_000, 'a refusal')
  await waitFor(() => refusals.filter((e) => (e as { code?: string }).code === 'AIP_ERR_CONSTELLATION_REGISTRATION_REFUSED').length >= 5, 10_000, 'five refusals')
  t.equal(constellation.getDevice('dev1')?.status === 'failed', false, 'more refusals than the strategy budget, not given up: the profile says Infinity')
  await device.connect()
  await waitFor(() => constellation.isDeviceConnected('dev1'), 10_000, 'reconnected')
  t.equal((await constellation.sendTaskToDevice('dev1', { request: '1', timeoutMs: 5000 })).status, 'completed')
})

test('a refusal that cannot heal (a key bound to another id) ends retrying at once, with its reason', async (t) => {
  let connections = 0
  const { url } = await scriptedServer(t, async (socket) => {
    connections++
    await socket.next()
    if (connections === 1) {
      socket.send(serverFrame({ type: 'heartbeat', status: 'ok' }))
      setTimeout(() => socket.ws.terminate(), 10)
      return
    }
    socket.send(serverFrame({ type: 'error', status: 'error', error: 'client_id is not allowed with the key used to connect' }))
    socket.ws.close(4002, 'refused')
  })
  const constellation = new ConstellationEndpoint({ taskName: 'g', reconnectionStrategy: { initialBackoffMs: 5, maxBackoffMs: 10 } })
  t.teardown(() => constellation.stop())
  const failed = new Promise<{ error: unknown, failure: unknown }>((resolve) => constellation.on('deviceState', ({ to, error, failure }) => { if (to === 'failed') resolve({ error, failure }) }))
  await constellation.connectToDevice({ deviceId: 'dev1', serverUrl: url })
  const { error, failure } = await failed
  t.equal(failure, 'credentials')
  t.match(error, { code: 'AIP_ERR_CONSTELLATION_REGISTRATION_REFUSED', message: /not allowed with the key/ })
  t.equal(connections, 2, 'no attempt after the refusal')
})
