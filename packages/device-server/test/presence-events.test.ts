import { test } from 'tap'
import { SERVER_MESSAGE_FIELDS } from '@aip/protocol'
import { stepsAgent, task, results } from './helpers/continuity.js'
import { TestClient, registered, registeredDevice, startServer, until } from './helpers/harness.js'

// The presence extension on real sockets: a constellation that asks for `presence` is told when the device it is
// scoped to becomes busy, idle, pushes telemetry, leaves and comes back; one that does not ask sees reference frames.

const TELEMETRY = { platform: 'linux', cpu_count: 8, memory_percent: 41.5 }

function presenceConstellation (clientId: string, targetId: string | null): Record<string, unknown> {
  return { type: 'register', status: 'ok', client_type: 'constellation', client_id: clientId, target_id: targetId, metadata: { aip_capabilities: ['presence'] } }
}

test('a scoped constellation granted presence follows its device: snapshot, busy, idle, telemetry, left, connected', async (t) => {
  const { wsUrl } = await startServer(t, { agent: stepsAgent(1), presenceTelemetryIntervalMs: 0 })
  const device = await registeredDevice(t, wsUrl, 'p-dev', { metadata: { platform: 'linux', system_info: { cpu_count: 4 } } })
  const galaxy = await TestClient.connect(t, wsUrl)
  const answer = await galaxy.ask(presenceConstellation('p-galaxy', 'p-dev'))
  t.match(answer, { type: 'heartbeat', status: 'ok', aip: { capabilities: ['presence'] } }, 'the grant lists presence')
  const snapshot = await galaxy.next()
  t.same(Object.keys(snapshot), [...SERVER_MESSAGE_FIELDS], 'a ServerMessage in the reference form')
  t.match(snapshot, {
    type: 'device_presence',
    status: 'ok',
    session_id: null,
    result: { device_id: 'p-dev', event: 'snapshot', state: 'online', running_tasks: 0, platform: 'linux', system_info: { cpu_count: 4 } }
  }, 'the state right after the registration answer')

  galaxy.send(task('p-galaxy', 'p-dev', 'p@1'))
  t.match(await galaxy.next(), { type: 'heartbeat', session_id: 'p@1' }, 'the ack first')
  t.match(await galaxy.next(), { type: 'device_presence', result: { event: 'busy', state: 'online', running_tasks: 1, system_info: null } })
  const command = await device.next()
  device.send(results('p-dev', command))
  t.match(await galaxy.next(), { type: 'task_end', session_id: 'p@1', status: 'completed' })
  t.match(await galaxy.next(), { type: 'device_presence', result: { event: 'idle', running_tasks: 0 } })

  device.send({ type: 'device_info_response', status: 'ok', client_type: 'device', client_id: 'p-dev', metadata: TELEMETRY })
  t.match(await galaxy.next(), { type: 'device_presence', result: { event: 'telemetry', state: 'online', system_info: TELEMETRY } }, 'fresh telemetry')
  const info = await galaxy.ask({ type: 'device_info_request', status: 'ok', client_type: 'constellation', client_id: 'p-galaxy', target_id: 'p-dev', request_id: 'r1' })
  t.match(info, { type: 'device_info_response', response_id: 'r1', result: TELEMETRY }, 'a device-info request answers the same fresh record')

  device.ws.close(1000)
  await device.closed
  t.match(await galaxy.next(), { type: 'device_presence', result: { device_id: 'p-dev', event: 'left', state: 'offline', running_tasks: 0 } })
  await registeredDevice(t, wsUrl, 'p-dev', { metadata: { platform: 'linux' } })
  t.match(await galaxy.next(), { type: 'device_presence', result: { event: 'connected', state: 'online' } }, 'and its return')
})

test('a constellation that did not ask gets no presence frame and the reference bytes', async (t) => {
  const { wsUrl } = await startServer(t, { agent: stepsAgent(1), presenceTelemetryIntervalMs: 0 })
  const device = await registeredDevice(t, wsUrl, 'q-dev')
  const plain = await TestClient.connect(t, wsUrl)
  const raw: string[] = []
  plain.ws.on('message', (data) => raw.push(data.toString()))
  await registered(plain, { type: 'register', status: 'ok', client_type: 'constellation', client_id: 'q-plain', target_id: 'q-dev' })
  const watcher = await TestClient.connect(t, wsUrl)
  await registered(watcher, presenceConstellation('q-watch', 'q-dev'))

  plain.send(task('q-plain', 'q-dev', 'q@1'))
  const command = await device.next()
  device.send(results('q-dev', command))
  t.match((await until(plain, (f) => f.type === 'task_end')).frame, { status: 'completed' })
  device.send({ type: 'device_info_response', status: 'ok', client_type: 'device', client_id: 'q-dev', metadata: TELEMETRY })
  // The watcher sees the busy, idle and telemetry frames: they were sent, just not to the plain constellation.
  const seen = []
  for (let i = 0; i < 4; i++) seen.push((await watcher.next()).result?.event)
  t.same(seen, ['snapshot', 'busy', 'idle', 'telemetry'])
  t.match(await plain.ask({ type: 'heartbeat', status: 'ok', client_type: 'constellation', client_id: 'q-plain' }), { type: 'heartbeat', session_id: null }, 'a heartbeat answer next: nothing came between')
  t.equal(raw.filter((text) => text.includes('device_presence')).length, 0, 'no presence frame')
  t.same(Object.keys(JSON.parse(raw[0] as string)), [...SERVER_MESSAGE_FIELDS], 'the registration answer carries no grant')
  t.notOk((raw[0] as string).includes('"aip"'))
})

test('who is granted presence: a scoped constellation by default; an unscoped one only with presence: "all"; a device never', async (t) => {
  const scoped = await startServer(t)
  await registeredDevice(t, scoped.wsUrl, 'g-dev')
  const unscoped = await TestClient.connect(t, scoped.wsUrl)
  t.match(await unscoped.ask(presenceConstellation('g-any', null)), { aip: { capabilities: [] } }, 'unscoped: not granted by default')
  const asDevice = await TestClient.connect(t, scoped.wsUrl)
  t.match(await asDevice.ask({ type: 'register', status: 'ok', client_type: 'device', client_id: 'g-dev2', metadata: { aip_capabilities: ['presence', 'cancel'] } }), { aip: { capabilities: ['cancel'] } }, 'a device: never')

  const off = await startServer(t, { presence: 'off' })
  await registeredDevice(t, off.wsUrl, 'o-dev')
  const refused = await TestClient.connect(t, off.wsUrl)
  t.match(await refused.ask(presenceConstellation('o-galaxy', 'o-dev')), { aip: { capabilities: [] } }, 'presence off: no one')

  const all = await startServer(t, { presence: 'all', presenceTelemetryIntervalMs: 0 })
  await registeredDevice(t, all.wsUrl, 'a-dev1', { metadata: { platform: 'linux', system_info: { cpu_count: 2 } } })
  const fleet = await TestClient.connect(t, all.wsUrl)
  t.match(await fleet.ask(presenceConstellation('a-fleet', null)), { aip: { capabilities: ['presence'] } }, 'presence all: unscoped too')
  t.match(await fleet.next(), { result: { device_id: 'a-dev1', event: 'snapshot', system_info: { cpu_count: 2 } } }, 'a snapshot per device')
  const second = await registeredDevice(t, all.wsUrl, 'a-dev2')
  t.match(await fleet.next(), { result: { device_id: 'a-dev2', event: 'connected' } }, 'every device')
  second.send({ type: 'device_info_response', status: 'ok', client_type: 'device', client_id: 'a-dev2', metadata: TELEMETRY })
  t.match(await fleet.next(), { result: { device_id: 'a-dev2', event: 'telemetry', system_info: TELEMETRY } }, 'telemetry included')
})
