import { test } from 'tap'
import { ConstellationEndpoint, type DevicePresenceUpdate } from '../src/index.js'
import { grantAnswer, nextEvent } from './continuity-helpers.js'
import { SimDevice, TestServer, scriptedServer, serverFrame } from './helpers.js'

// The presence extension against the real server on real sockets: `presence: true` turns the server's
// `device_presence` frames into `devicePresence` events and the snapshot's `presence`.

const TELEMETRY = { device_id: 'pd1', platform: 'linux', cpu_count: 2, memory_percent: 63.2, load_average: 0.42 }

test('presence: true follows the device through a task, a telemetry push and its leaving', async (t) => {
  const server = await TestServer.start(t, { presenceTelemetryIntervalMs: 0 })
  const device = await SimDevice.start(t, server.wsUrl, 'pd1')
  const constellation = new ConstellationEndpoint({ taskName: 'g', presence: true })
  t.teardown(() => constellation.stop())
  const events: DevicePresenceUpdate[] = []
  constellation.on('devicePresence', (update) => events.push(update))

  const snapshot = nextEvent(constellation, 'devicePresence')
  await constellation.connectToDevice({ deviceId: 'pd1', serverUrl: server.wsUrl })
  t.match(await snapshot, { deviceId: 'pd1', event: 'snapshot', state: 'online', runningTasks: 0, systemInfo: { cpu_count: 2 } })
  t.same(constellation.getDevice('pd1')?.continuity?.capabilities, ['resume', 'cancel', 'deadline', 'presence'], 'granted beside continuity')

  const idle = nextEvent(constellation, 'devicePresence', (update) => update.event === 'idle')
  t.match(await constellation.sendTaskToDevice('pd1', { request: '0' }), { status: 'completed' })
  await idle
  t.same(events.map((update) => `${update.event} ${update.runningTasks}`), ['snapshot 0', 'busy 1', 'idle 0'])

  const pushed = nextEvent(constellation, 'devicePresence', (update) => update.event === 'telemetry')
  device.ws?.send(JSON.stringify({ type: 'device_info_response', status: 'ok', client_type: 'device', client_id: 'pd1', metadata: TELEMETRY }))
  const telemetry = await pushed
  t.same(telemetry.systemInfo, TELEMETRY, 'the record the device pushed')
  t.type(telemetry.timestamp, 'string')
  t.same(constellation.getDevice('pd1')?.presence?.systemInfo, TELEMETRY, 'kept in the device snapshot')
  t.same(await constellation.requestDeviceInfo('pd1'), TELEMETRY, 'requestDeviceInfo returns the same fresh record')
  const answer = await constellation.requestDeviceInfo('pd1', { view: true })
  t.match(answer.view, { memory: { usedPercent: 63.2 }, cpu: { count: 2, loadAverage: 0.42 } }, 'and its normalised view')

  const left = nextEvent(constellation, 'devicePresence', (update) => update.event === 'left')
  device.kill()
  t.match(await left, { deviceId: 'pd1', state: 'offline', systemInfo: null })
  t.equal(constellation.getDevice('pd1')?.presence?.state, 'offline')
})

test('without presence (the default) no presence frame comes and none is asked for', async (t) => {
  const server = await TestServer.start(t, { presenceTelemetryIntervalMs: 0 })
  const device = await SimDevice.start(t, server.wsUrl, 'pd2')
  const constellation = new ConstellationEndpoint({ taskName: 'g' })
  t.teardown(() => constellation.stop())
  const events: unknown[] = []
  constellation.on('devicePresence', (update) => events.push(update))
  await constellation.connectToDevice({ deviceId: 'pd2', serverUrl: server.wsUrl })
  t.same(constellation.getDevice('pd2')?.continuity?.capabilities, ['resume', 'cancel', 'deadline'])
  t.match(await constellation.sendTaskToDevice('pd2', { request: '0' }), { status: 'completed' })
  device.ws?.send(JSON.stringify({ type: 'device_info_response', status: 'ok', client_type: 'device', client_id: 'pd2', metadata: TELEMETRY }))
  t.same(await constellation.requestDeviceInfo('pd2'), TELEMETRY, 'the push reached the server (the answer comes after it)')
  t.same(events, [], 'no devicePresence')
  t.equal(constellation.getDevice('pd2')?.presence, null)
})

test('presence alone asks for presence only; a presence frame without a grant, or about another device, is dropped', async (t) => {
  const registers: Array<Record<string, any>> = []
  const { url } = await scriptedServer(t, async (socket) => {
    registers.push(await socket.next())
    socket.send(grantAnswer({ capabilities: [] }))
    socket.send(serverFrame({ type: 'device_presence', status: 'ok', result: { device_id: 'dev1', event: 'busy', state: 'online', running_tasks: 1 } }))
  })
  const constellation = new ConstellationEndpoint({ taskName: 'g', continuity: false, presence: true })
  t.teardown(() => constellation.stop())
  const dropped: string[] = []
  constellation.on('unmatched', ({ reason }) => dropped.push(reason))
  const events: unknown[] = []
  constellation.on('devicePresence', (update) => events.push(update))
  const last = nextEvent(constellation, 'unmatched')
  await constellation.connectToDevice({ deviceId: 'dev1', serverUrl: url })
  t.same(registers[0]?.metadata.aip_capabilities, ['presence'])
  await last
  t.same(dropped, ['device_presence on a connection not granted presence'])
  t.same(events, [])

  const { url: other } = await scriptedServer(t, async (socket) => {
    await socket.next()
    socket.send(grantAnswer({ capabilities: ['presence'] }))
    socket.send(serverFrame({ type: 'device_presence', status: 'ok', result: { device_id: 'someone-else', event: 'busy', state: 'online', running_tasks: 1 } }))
    socket.send(serverFrame({ type: 'device_presence', status: 'ok', result: { device_id: 'dev2', event: 'teleported', state: 'online' } }))
    socket.send(serverFrame({ type: 'device_presence', status: 'ok', result: { device_id: 'dev2', event: 'busy', state: 'online', running_tasks: 3 } }))
  })
  const taken = nextEvent(constellation, 'devicePresence')
  await constellation.connectToDevice({ deviceId: 'dev2', serverUrl: other })
  t.match(await taken, { deviceId: 'dev2', event: 'busy', runningTasks: 3 })
  t.same(dropped.slice(1), ['device_presence about another device', 'malformed device_presence'])
})
