import { test } from 'tap'
import { injectClient, injectedDevice } from './helpers/harness.js'
import { eventually, twoAppsOnRedis } from './helpers/cluster.js'

test('two apps on a real Redis: a constellation on B granted presence follows a device connected to A', async (t) => {
  const apps = await twoAppsOnRedis(t)
  if (apps === undefined) return
  const { a, b } = apps
  await eventually(() => a.aip.clusterState === 'ready' && b.aip.clusterState === 'ready', 'both nodes ready')
  const device = await injectedDevice(t, a, '/ws', 'dev-a')
  await eventually(async () => (await b.aip.listClusterClients()).some((c) => c.clientId === 'dev-a'), 'the device is known to B')
  const galaxy = await injectClient(t, b, '/ws')
  const answer = await galaxy.ask({ type: 'register', status: 'ok', client_type: 'constellation', client_id: 'galaxy', target_id: 'dev-a', metadata: { aip_capabilities: ['presence'] } })
  t.match(answer, { type: 'heartbeat', status: 'ok', aip: { capabilities: ['presence'] } })
  t.match(await galaxy.next(), { type: 'device_presence', result: { device_id: 'dev-a', event: 'snapshot', state: 'online' } })
  // Every frame B writes to the constellation from now on.
  const seen: Array<Record<string, any>> = []
  galaxy.ws.on('message', (data) => { seen.push(JSON.parse(data.toString()) as Record<string, any>) })
  const presence = (event: string): Record<string, any> | undefined => seen.find((f) => f.type === 'device_presence' && f.result.event === event)
  // The interest reaches node A through Redis: telemetry is pushed until a frame about it comes through (bounded).
  for (let i = 0; i < 200 && presence('telemetry') === undefined; i++) {
    device.send({ type: 'device_info_response', status: 'ok', client_type: 'device', client_id: 'dev-a', metadata: { push: i } })
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  t.match(presence('telemetry'), { result: { device_id: 'dev-a', state: 'online' } }, 'made on A, written on B')
})
