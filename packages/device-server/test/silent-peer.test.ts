import { once } from 'node:events'
import { test } from 'tap'
import { type DeviceServerEvents } from '../src/index.js'
import { Texts } from '../src/internal.js'
import { TestClient, deviceRegister, registeredConstellation, registeredDevice, startServer, until } from './helpers/harness.js'

const PING_MS = 80

test('a device that stops answering pings is dropped and its running task ends failed for the constellation', async (t) => {
  const { wsUrl, endpoint } = await startServer(t, { pingIntervalMs: PING_MS })
  const disconnected: Array<DeviceServerEvents['clientDisconnected']> = []
  t.teardown(endpoint.on('clientDisconnected', (event) => disconnected.push(event)))

  // A device whose process is frozen: its socket is open, but nothing answers, not even pings.
  const silent = await TestClient.connect(t, wsUrl, { autoPong: false })
  t.match(await silent.ask(deviceRegister('silent-dev')), { type: 'heartbeat', status: 'ok' })
  const galaxy = await registeredConstellation(t, wsUrl, 'galaxy', 'silent-dev')
  const ack = await galaxy.ask({
    type: 'task',
    status: 'continue',
    client_type: 'constellation',
    client_id: 'galaxy',
    target_id: 'silent-dev',
    session_id: 'galaxy-task@1',
    task_name: 'galaxy-task',
    request: 'open notepad'
  })
  t.match(ack, { type: 'heartbeat', status: 'ok', session_id: 'galaxy-task@1' }, 'the task is acknowledged')
  t.match(await silent.next(), { type: 'command', session_id: 'galaxy-task@1' }, 'the device got a COMMAND it never answers')

  const { frame: end } = await until(galaxy, (frame) => frame.type === 'task_end')
  t.match(end, { type: 'task_end', status: 'failed', session_id: 'galaxy-task@1', error: Texts.deviceDisconnected })
  t.equal(end.error, 'Task was cancelled because target device disconnected')
  await silent.closed
  t.pass('the silent device was disconnected by the server')
  t.notOk(endpoint.isConnected('silent-dev'))
  t.equal(endpoint.sessionCount, 0, 'no session is left running')
  t.match(endpoint.getResult('galaxy-task@1'), { status: 'failed', error: Texts.deviceDisconnected, deviceId: 'silent-dev', requesterId: 'galaxy' })
  t.match(disconnected, [{ clientId: 'silent-dev', clientType: 'device' }], 'only the silent device was dropped')
  t.ok(endpoint.isConnected('galaxy'), 'the constellation, which answers pings, is still connected')
  t.match(await galaxy.ask({ type: 'heartbeat', status: 'ok', client_type: 'constellation', client_id: 'galaxy' }), { type: 'heartbeat', status: 'ok' })
})

test('a healthy client that only answers pings stays connected over the same period', async (t) => {
  const { wsUrl, endpoint } = await startServer(t, { pingIntervalMs: PING_MS })
  const silent = await TestClient.connect(t, wsUrl, { autoPong: false })
  t.match(await silent.ask(deviceRegister('silent-dev')), { type: 'heartbeat', status: 'ok' })
  const healthy = await registeredDevice(t, wsUrl, 'healthy-dev')
  let healthyClosed = false
  healthy.ws.once('close', () => { healthyClosed = true })

  await silent.closed
  t.notOk(healthyClosed, 'the healthy device is connected when the silent one is dropped')
  // Four more ping intervals: twice the silence allowed, with no frame from the healthy device.
  for (let ping = 0; ping < 4; ping++) await once(healthy.ws, 'ping')
  t.notOk(healthyClosed, 'still connected after four more pings')
  t.ok(endpoint.isConnected('healthy-dev'))
  t.notOk(endpoint.isConnected('silent-dev'))
  t.match(await healthy.ask({ type: 'heartbeat', status: 'ok', client_type: 'device', client_id: 'healthy-dev' }), { type: 'heartbeat', status: 'ok' }, 'and it is served')
})

test('an unregistered connection that ignores pings is dropped as well', async (t) => {
  const { wsUrl, endpoint } = await startServer(t, { pingIntervalMs: PING_MS, registrationTimeoutMs: 60_000 })
  const mute = await TestClient.connect(t, wsUrl, { autoPong: false })
  await mute.closed
  t.pass('dropped long before its registration deadline')
  t.equal(endpoint.listClients().length, 0)
})

test('pingIntervalMs 0 disables pings', async (t) => {
  const { wsUrl, endpoint } = await startServer(t, { pingIntervalMs: 0, registrationTimeoutMs: 200 })
  const device = await TestClient.connect(t, wsUrl, { autoPong: false })
  let pinged = false
  device.ws.on('ping', () => { pinged = true })
  t.match(await device.ask(deviceRegister('no-ping-dev')), { type: 'heartbeat', status: 'ok' })
  // A second connection closed by its registration deadline marks a period longer than the device's.
  const probe = await TestClient.connect(t, wsUrl)
  await probe.closed
  t.notOk(pinged, 'no ping was sent')
  t.ok(endpoint.isConnected('no-ping-dev'), 'a device that answers no ping is kept')
})
