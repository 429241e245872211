import { test } from 'tap'
import { collectLiveReadings } from '../src/internal.js'
import { client, nextEvent, startServer } from './helpers/net.js'

test('with telemetryIntervalMs, a registered device pushes fresh telemetry that the server keeps', async (t) => {
  const server = await startServer(t)
  const pushes: string[] = []
  server.endpoint.on('clientTelemetry', ({ clientId }) => pushes.push(clientId))
  const device = client(t, { wsUrl: server.wsUrl, clientId: 'tele-dev', platform: 'linux', telemetryIntervalMs: 20 })
  await device.start()
  const sent = await nextEvent(device, 'telemetrySent')
  t.match(sent.systemInfo, { device_id: 'tele-dev', schema_version: '1.0' }, 'the registration telemetry, read again')
  t.type(sent.systemInfo.load_average, 'number', 'plus live readings')
  await nextEvent(device, 'telemetrySent')
  for (let i = 0; i < 50 && pushes.length < 2; i++) await new Promise((resolve) => setImmediate(resolve))
  t.ok(pushes.length >= 2, 'the server saw the pushes')
  t.ok(pushes.every((id) => id === 'tele-dev'))
  const record = server.endpoint.listClients().find((c) => c.clientId === 'tele-dev')
  t.match(record?.systemInfo, { device_id: 'tele-dev', load_average: Number, memory_free_gb: Number, memory_percent: Number, uptime_s: Number })
  await device.stop()
  const count = pushes.length
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
  t.ok(pushes.length <= count + 1, 'no push after stop (one may have been in flight)')
})

test('without telemetryIntervalMs, telemetry is sent at registration only', async (t) => {
  const server = await startServer(t)
  let pushes = 0
  server.endpoint.on('clientTelemetry', () => { pushes++ })
  const device = client(t, { wsUrl: server.wsUrl, clientId: 'quiet-dev' })
  await device.start()
  t.equal(device.options.telemetryIntervalMs, 0)
  await device.stop()
  t.equal(pushes, 0)
})

test('live readings: load, free memory in GiB and percent, uptime; a reading that fails is 0', async (t) => {
  const readings = collectLiveReadings({ loadavg: () => [1.234, 1, 1], freemem: () => 2 * 1024 ** 3, totalmem: () => 8 * 1024 ** 3, uptime: () => 99.6 })
  t.same(readings, { load_average: 1.23, memory_free_gb: 2, memory_percent: 75, uptime_s: 100 })
  const broken = collectLiveReadings({ loadavg: () => { throw new Error('no') }, freemem: () => { throw new Error('no') }, totalmem: () => { throw new Error('no') }, uptime: () => { throw new Error('no') } })
  t.same(broken, { load_average: 0, memory_free_gb: 0, memory_percent: 0, uptime_s: 0 })
  t.type(collectLiveReadings().uptime_s, 'number', 'from node:os by default')
})
