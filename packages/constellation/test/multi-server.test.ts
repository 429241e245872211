import { test } from 'tap'
import { ConstellationEndpoint, type DeviceStatus } from '../src/index.js'
import { SimDevice, TestServer, waitFor } from './helpers.js'

test('one constellation coordinates three devices on two real servers', async (t) => {
  const serverA = await TestServer.start(t, { token: 'secret-a' })
  const serverB = await TestServer.start(t)
  await SimDevice.start(t, serverA.wsUrl, 'dev1')
  await SimDevice.start(t, serverA.wsUrl, 'dev2')
  await SimDevice.start(t, serverB.wsUrl, 'dev3')

  const logged: string[] = []
  const logger = {
    debug: (obj: unknown, msg?: string) => { logged.push(JSON.stringify(obj) + String(msg)) },
    info: (obj: unknown, msg?: string) => { logged.push(JSON.stringify(obj) + String(msg)) },
    warn: (obj: unknown, msg?: string) => { logged.push(JSON.stringify(obj) + String(msg)) },
    error: (obj: unknown, msg?: string) => { logged.push(JSON.stringify(obj) + String(msg)) }
  }
  const constellation = new ConstellationEndpoint({ taskName: 'galaxy_task', logger, heartbeatIntervalMs: 20 })
  t.teardown(() => constellation.stop())
  await constellation.start()
  const states: Array<[string, DeviceStatus]> = []
  const off = constellation.on('deviceState', ({ deviceId, to }) => states.push([deviceId, to]))

  await Promise.all([
    constellation.connectToDevice({ deviceId: 'dev1', serverUrl: serverA.wsUrl, capabilities: ['gui'], os: 'windows' }),
    constellation.connectToDevice({ deviceId: 'dev2', serverUrl: serverA.wsUrl }),
    constellation.connectToDevice({ deviceId: 'dev3', serverUrl: serverB.wsUrl, metadata: { room: 1 } })
  ])
  t.ok(constellation.isConnected(), 'connected')
  for (const id of ['dev1', 'dev2', 'dev3']) t.ok(constellation.isDeviceConnected(id), `${id} connected`)
  t.notOk(constellation.isDeviceConnected('nobody'), 'unknown device is not connected')
  t.same(serverA.endpoint.listClients().map((c) => c.clientId).sort(), ['dev1', 'dev2', 'galaxy_task@dev1', 'galaxy_task@dev2'], 'one connection per (task, device) on server A')
  t.same(serverB.endpoint.listClients().map((c) => c.clientId).sort(), ['dev3', 'galaxy_task@dev3'], 'and on server B')
  const dev1 = constellation.getDevice('dev1')
  t.equal(dev1?.status, 'idle')
  t.equal(dev1?.serverUrl, `ws://127.0.0.1:${serverA.port}/ws`, 'the snapshot shows the URL without its token')
  t.same(dev1?.capabilities, ['gui'])
  t.equal(constellation.listDevices().length, 3)

  // Tasks on every device at once.
  const ends = await Promise.all(['dev1', 'dev2', 'dev3'].flatMap((deviceId) => [1, 2, 3].map((n) =>
    constellation.sendTaskToDevice(deviceId, { request: '5', taskId: `${deviceId}-t${n}` }))))
  t.equal(ends.length, 9)
  t.ok(ends.every((end) => end.status === 'completed'), 'every task completed')
  t.same(ends.map((end) => end.sessionId).slice(0, 3), ['galaxy_task@dev1-t1', 'galaxy_task@dev1-t2', 'galaxy_task@dev1-t3'], 'session ids are <taskName>@<taskId>')
  t.equal(ends[0]?.deviceId, 'dev1')
  t.ok(Array.isArray(ends[0]?.result), 'TASK_END carries the steps')

  // Device info, correlated by request id, answered from the registration's system_info.
  const [info1, info3] = await Promise.all([constellation.requestDeviceInfo('dev1'), constellation.requestDeviceInfo('dev3')])
  t.equal(info1?.device_id, 'dev1')
  t.equal(info3?.device_id, 'dev3')

  // Heartbeats with client_type constellation are answered (never refused, B1).
  await waitFor(() => constellation.listDevices().every((d) => d.lastHeartbeatAt !== null), 2000, 'heartbeat answers')
  t.pass('heartbeats answered on every connection')

  t.ok(states.some(([id, to]) => id === 'dev1' && to === 'busy'), 'dev1 went busy')
  t.ok(states.some(([id, to]) => id === 'dev1' && to === 'idle'), 'and idle')
  t.same(states.filter(([id]) => id === 'dev3').map(([, to]) => to).slice(0, 3), ['connecting', 'connected', 'idle'])
  off()

  await constellation.disconnectDevice('dev2')
  t.notOk(constellation.isDeviceConnected('dev2'), 'dev2 disconnected')
  t.equal(constellation.getDevice('dev2'), undefined, 'and forgotten')
  await t.rejects(constellation.sendTaskToDevice('dev2', { request: 'x' }), { code: 'AIP_ERR_CONSTELLATION_UNKNOWN_DEVICE' })
  await constellation.disconnectDevice('dev2')
  await waitFor(() => !serverA.endpoint.isConnected('galaxy_task@dev2'), 2000, 'server A sees dev2 go')

  await constellation.stop()
  t.notOk(constellation.isConnected(), 'nothing connected after stop')
  await t.rejects(constellation.connectToDevice({ deviceId: 'dev1', serverUrl: serverA.wsUrl }), { code: 'AIP_ERR_CONSTELLATION_STOPPED' })
  await t.rejects(constellation.sendTaskToDevice('dev1', { request: 'x' }), { code: 'AIP_ERR_CONSTELLATION_STOPPED' })
  await t.rejects(constellation.requestDeviceInfo('dev1'), { code: 'AIP_ERR_CONSTELLATION_STOPPED' })
  await t.rejects(constellation.start(), { code: 'AIP_ERR_CONSTELLATION_STOPPED' })
  await constellation.stop()
  t.notOk(logged.some((line) => line.includes('secret-a')), 'the token never reaches the log')
})

test('connectToDevice is idempotent and joins a connection in progress', async (t) => {
  const server = await TestServer.start(t)
  await SimDevice.start(t, server.wsUrl, 'dev1')
  const constellation = new ConstellationEndpoint({ taskName: 'c' })
  t.teardown(() => constellation.stop())
  const profile = { deviceId: 'dev1', serverUrl: server.wsUrl }
  await Promise.all([constellation.connectToDevice(profile), constellation.connectToDevice(profile)])
  await constellation.connectToDevice(profile)
  t.equal(constellation.getDevice('dev1')?.connections, 1, 'one connection')
  await t.rejects(constellation.connectToDevice({ deviceId: 'dev1', serverUrl: 'ws://127.0.0.1:1/ws' }), { code: 'AIP_ERR_INVALID_ARGUMENT' })
  t.equal(await constellation.reconnectDevice('dev1'), true, 'reconnectDevice of a connected device is true')
  t.equal(await constellation.reconnectDevice('nobody'), false, 'of an unknown device false')
})
