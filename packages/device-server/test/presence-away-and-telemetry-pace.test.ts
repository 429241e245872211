import { test } from 'tap'
import { Clock } from '@tapjs/clock'
import { DeviceServerEndpoint } from '../src/index.js'
import { HeldTransport, continuityDevice, nextEvent } from './helpers/continuity.js'
import { TestClient, registered, startServer } from './helpers/harness.js'

function presenceConstellation (clientId: string, targetId: string | null): Record<string, unknown> {
  return { type: 'register', status: 'ok', client_type: 'constellation', client_id: clientId, target_id: targetId, metadata: { aip_capabilities: ['presence'] } }
}

test('a device granted resume that drops is away, then resumed; a watcher that drops stops being told', async (t) => {
  const { wsUrl, endpoint } = await startServer(t, { resumeWindowMs: 10_000 })
  const device = await registered(await TestClient.connect(t, wsUrl), continuityDevice('r-dev', ['resume']))
  const galaxy = await registered(await TestClient.connect(t, wsUrl), presenceConstellation('r-galaxy', 'r-dev'))
  t.match(await galaxy.next(), { result: { event: 'snapshot', state: 'online' } })

  device.ws.terminate()
  t.match(await galaxy.next(), { type: 'device_presence', result: { device_id: 'r-dev', event: 'away', state: 'away', system_info: null } })
  const back = await registered(await TestClient.connect(t, wsUrl), continuityDevice('r-dev', ['resume']))
  t.match(await galaxy.next(), { type: 'device_presence', result: { event: 'resumed', state: 'online' } })

  // A second watcher registers scoped to a device that is away: its snapshot says so.
  back.ws.terminate()
  t.match(await galaxy.next(), { result: { event: 'away' } })
  const late = await registered(await TestClient.connect(t, wsUrl), presenceConstellation('r-late', 'r-dev'))
  t.match(await late.next(), { result: { event: 'snapshot', state: 'away' } })

  const gone = nextEvent(endpoint, 'clientDisconnected')
  galaxy.ws.close(1000)
  await gone
  await registered(await TestClient.connect(t, wsUrl), continuityDevice('r-dev', ['resume']))
  t.match(await late.next(), { result: { event: 'resumed' } }, 'the remaining watcher is told')
  t.same(galaxy.frames, [], 'the one that left got nothing more')
})

test('telemetry presence is paced: at most one frame per device per interval, carrying the latest record', async (t) => {
  const clock = new Clock()
  clock.enter()
  let now = 1_000_000
  const endpoint = new DeviceServerEndpoint({ pingIntervalMs: 0, presenceTelemetryIntervalMs: 1000, now: () => now })
  t.teardown(async () => {
    await endpoint.stop()
    clock.exit()
  })
  const connect = (): HeldTransport => {
    const transport = new HeldTransport()
    endpoint.handleTransport(transport)
    t.teardown(() => transport.release())
    return transport
  }
  const device = connect()
  device.receive(continuityDevice('t-dev', []))
  await device.next()
  const galaxy = connect()
  galaxy.receive(presenceConstellation('t-galaxy', 't-dev'))
  t.match(await galaxy.next(), { type: 'heartbeat', aip: { capabilities: ['presence'] } })
  t.match(await galaxy.next(), { result: { event: 'snapshot' } })
  const push = async (n: number): Promise<void> => {
    const pushed = nextEvent(endpoint, 'clientTelemetry')
    device.receive({ type: 'device_info_response', status: 'ok', client_type: 'device', client_id: 't-dev', metadata: { n } })
    await pushed
  }

  await push(1)
  t.match(await galaxy.next(), { result: { event: 'telemetry', system_info: { n: 1 } } }, 'the first push goes out at once')
  now += 400
  await push(2)
  await push(3)
  t.equal(galaxy.sent.length, 3, 'the next ones wait for the interval')
  now += 599
  clock.advance(599)
  t.equal(galaxy.sent.length, 3)
  now += 1
  clock.advance(1)
  t.match(await galaxy.next(), { result: { event: 'telemetry', system_info: { n: 3 } } }, 'one frame, with the latest record')
  t.equal(galaxy.sent.length, 4)
  now += 5000
  await push(4)
  t.match(await galaxy.next(), { result: { event: 'telemetry', system_info: { n: 4 } } }, 'after a quiet interval, at once again')
})
