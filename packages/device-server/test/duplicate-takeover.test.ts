import { test } from 'tap'
import { CloseCode } from '@aip/endpoint'
import { type DeviceServerEvents } from '../src/index.js'
import { Texts } from '../src/internal.js'
import { TestClient, constellationRegister, deviceRegister, registeredConstellation, registeredDevice, startServer } from './helpers/harness.js'

const heartbeat = (clientId: string, clientType = 'device'): Record<string, unknown> =>
  ({ type: 'heartbeat', status: 'ok', client_type: clientType, client_id: clientId })

test('a duplicate client_id while the old connection is alive is refused; the old connection keeps working', async (t) => {
  const { wsUrl, endpoint } = await startServer(t)
  const first = await registeredDevice(t, wsUrl, 'dev-x')

  const second = await TestClient.connect(t, wsUrl)
  const refusal = await second.ask(deviceRegister('dev-x'))
  t.match(refusal, { type: 'error', status: 'error', error: Texts.duplicateClient('dev-x') })
  t.equal(refusal.error, "client_id 'dev-x' is already registered; duplicate registrations are not allowed")
  t.equal((await second.closed).code, CloseCode.RegistrationRefused, 'the newcomer is closed with 4002')

  t.ok(endpoint.isConnected('dev-x'))
  t.match(await first.ask(heartbeat('dev-x')), { type: 'heartbeat', status: 'ok' }, 'the old connection answers a HEARTBEAT')
  t.equal(endpoint.listClients().length, 1)
})

test('the duplicate rule holds across roles', async (t) => {
  const { wsUrl } = await startServer(t)
  await registeredDevice(t, wsUrl, 'dev-y')
  const galaxy = await registeredConstellation(t, wsUrl, 'shared-id', 'dev-y')
  const device = await TestClient.connect(t, wsUrl)
  t.match(await device.ask(deviceRegister('shared-id')), { type: 'error', error: Texts.duplicateClient('shared-id') }, 'a device may not take a constellation id')
  t.equal((await device.closed).code, CloseCode.RegistrationRefused)
  const other = await TestClient.connect(t, wsUrl)
  t.match(await other.ask(constellationRegister('shared-id', 'dev-y')), { type: 'error', error: Texts.duplicateClient('shared-id') }, 'nor another constellation')
  t.equal((await other.closed).code, CloseCode.RegistrationRefused)
  t.match(await galaxy.ask(heartbeat('shared-id', 'constellation')), { type: 'heartbeat', status: 'ok' })
})

test('a new connection takes over at once from an old one whose socket is dead', async (t) => {
  const { wsUrl, endpoint } = await startServer(t, { takeoverProbeMs: 100 })
  const events: string[] = []
  t.teardown(endpoint.on('clientRegistered', (record) => events.push(`registered ${record.clientId}`)))
  t.teardown(endpoint.on('clientDisconnected', (event: DeviceServerEvents['clientDisconnected']) => events.push(`disconnected ${event.clientId} ${event.code}`)))

  // The old socket is open but its peer is gone: it answers no ping.
  const stale = await TestClient.connect(t, wsUrl, { autoPong: false })
  t.match(await stale.ask(deviceRegister('dev-z')), { type: 'heartbeat', status: 'ok' })

  const fresh = await TestClient.connect(t, wsUrl)
  const started = Date.now()
  const answer = await fresh.ask(deviceRegister('dev-z'))
  t.match(answer, { type: 'heartbeat', status: 'ok' }, 'the new connection is registered')
  t.ok(Date.now() - started < 2000, 'after the probe, not after a ping timeout')
  await stale.closed
  t.pass('the old connection is closed')
  t.same(stale.frames, [], 'the old connection got no other frame')
  t.ok(endpoint.isConnected('dev-z'))
  t.equal(endpoint.listClients().length, 1)
  t.same(events, ['registered dev-z', `disconnected dev-z ${CloseCode.Replaced}`, 'registered dev-z'], 'one disconnect, then the new registration')
  t.match(await fresh.ask(heartbeat('dev-z')), { type: 'heartbeat', status: 'ok' }, 'the new connection is served')
})

test('a takeover cancels the tasks of the replaced connection', async (t) => {
  const { wsUrl, endpoint } = await startServer(t, { takeoverProbeMs: 100 })
  const stale = await TestClient.connect(t, wsUrl, { autoPong: false })
  t.match(await stale.ask(deviceRegister('dev-w')), { type: 'heartbeat', status: 'ok' })
  const galaxy = await registeredConstellation(t, wsUrl, 'galaxy-w', 'dev-w')
  const ack = await galaxy.ask({ type: 'task', status: 'continue', client_type: 'constellation', client_id: 'galaxy-w', target_id: 'dev-w', session_id: 'w@1', request: 'run' })
  t.match(ack, { type: 'heartbeat', status: 'ok', session_id: 'w@1' })
  t.match(await stale.next(), { type: 'command', session_id: 'w@1' })

  const fresh = await TestClient.connect(t, wsUrl)
  t.match(await fresh.ask(deviceRegister('dev-w')), { type: 'heartbeat', status: 'ok' })
  t.match(await galaxy.next(), { type: 'task_end', status: 'failed', session_id: 'w@1', error: Texts.deviceDisconnected }, 'the requester is told')
  t.equal(endpoint.sessionCount, 0)
  t.ok(endpoint.isConnected('galaxy-w'), 'the constellation stays, scoped to the same device id')
})
