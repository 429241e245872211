import { test } from 'tap'
import { results, stepsAgent, task } from './helpers/continuity.js'
import { TestClient, registered, registeredDevice, type Closed } from './helpers/harness.js'
import { testCluster } from './helpers/cluster.js'

// Presence across the nodes of a cluster: a constellation on node B granted `presence` follows devices of node A
// (online / busy / idle / telemetry / left / connected), with the same scoping as on one node.

function presenceConstellation (clientId: string, targetId: string | null): Record<string, unknown> {
  return { type: 'register', status: 'ok', client_type: 'constellation', client_id: clientId, target_id: targetId, metadata: { aip_capabilities: ['presence'] } }
}

/** Takes frames until every one of `wanted` has matched one (frames of two nodes are not ordered between them). */
async function collect (client: TestClient, wanted: Array<(frame: Record<string, any>) => boolean>, limit = 20): Promise<Array<Record<string, any>>> {
  const found: Array<Record<string, any> | undefined> = wanted.map(() => undefined)
  for (let i = 0; i < limit && found.includes(undefined); i++) {
    const frame = await client.next()
    const index = wanted.findIndex((match, j) => found[j] === undefined && match(frame))
    if (index !== -1) found[index] = frame
  }
  if (found.includes(undefined)) throw new Error('not every frame came')
  return found as Array<Record<string, any>>
}

const presence = (event: string) => (frame: Record<string, any>): boolean => frame.type === 'device_presence' && frame.result.event === event

test('a scoped constellation on node B follows its device on node A: snapshot, busy, idle, telemetry, left, connected', async (t) => {
  const cluster = testCluster(t, {}, { agent: stepsAgent(1), presenceTelemetryIntervalMs: 0 })
  const a = await cluster.node('node-a')
  const b = await cluster.node('node-b')
  const device = await registeredDevice(t, a.wsUrl, 'p-dev', { metadata: { platform: 'linux', system_info: { cpu_count: 4 } } })
  const galaxy = await TestClient.connect(t, b.wsUrl)
  t.match(await galaxy.ask(presenceConstellation('p-galaxy', 'p-dev')), { type: 'heartbeat', status: 'ok', aip: { capabilities: ['presence'] } })
  t.match(await galaxy.next(), {
    type: 'device_presence',
    result: { device_id: 'p-dev', event: 'snapshot', state: 'online', running_tasks: 0, platform: 'linux', system_info: { cpu_count: 4 } }
  }, 'the snapshot, read from the device\'s lease')
  const plain = await TestClient.connect(t, b.wsUrl)
  await registered(plain, { type: 'register', status: 'ok', client_type: 'constellation', client_id: 'p-plain', target_id: 'p-dev' })

  galaxy.send(task('p-galaxy', 'p-dev', 'p@1'))
  const [, busy] = await collect(galaxy, [(f) => f.type === 'heartbeat' && f.session_id === 'p@1', presence('busy')])
  t.match(busy?.result, { device_id: 'p-dev', state: 'online', running_tasks: 1 }, 'busy, made on A')
  device.send(results('p-dev', await device.next()))
  const [, idle] = await collect(galaxy, [(f) => f.type === 'task_end' && f.session_id === 'p@1', presence('idle')])
  t.match(idle?.result, { running_tasks: 0 })

  const telemetry = { platform: 'linux', cpu_count: 8 }
  device.send({ type: 'device_info_response', status: 'ok', client_type: 'device', client_id: 'p-dev', metadata: telemetry })
  t.match(await galaxy.next(), { type: 'device_presence', result: { event: 'telemetry', system_info: telemetry } })

  device.ws.close(1000)
  await device.closed
  t.match(await galaxy.next(), { type: 'device_presence', result: { device_id: 'p-dev', event: 'left', state: 'offline' } })
  await registeredDevice(t, a.wsUrl, 'p-dev', { metadata: { platform: 'linux' } })
  t.match(await galaxy.next(), { type: 'device_presence', result: { event: 'connected', state: 'online' } }, 'and its return')

  t.match(await plain.ask({ type: 'heartbeat', status: 'ok', client_type: 'constellation', client_id: 'p-plain' }), { type: 'heartbeat' }, 'a constellation that did not ask got no presence frame')
})

test('an unscoped constellation on B (presence: all) sees the devices of every node; a scoped one only its device', async (t) => {
  const cluster = testCluster(t, {}, { presence: 'all', presenceTelemetryIntervalMs: 0 })
  const a = await cluster.node('node-a')
  const b = await cluster.node('node-b')
  await registeredDevice(t, a.wsUrl, 'dev-on-a', { metadata: { platform: 'windows' } })
  await registeredDevice(t, b.wsUrl, 'dev-on-b')
  const watcher = await TestClient.connect(t, b.wsUrl)
  await watcher.ask(presenceConstellation('all-galaxy', null))
  const snapshots = await collect(watcher, [
    (f) => presence('snapshot')(f) && f.result.device_id === 'dev-on-b',
    (f) => presence('snapshot')(f) && f.result.device_id === 'dev-on-a'
  ])
  t.match(snapshots[1]?.result, { state: 'online', platform: 'windows' }, 'the device of A, from its lease')
  const scoped = await TestClient.connect(t, b.wsUrl)
  await scoped.ask(presenceConstellation('scoped-galaxy', 'dev-on-b'))
  t.match(await scoped.next(), { type: 'device_presence', result: { device_id: 'dev-on-b', event: 'snapshot' } })

  const late = await registeredDevice(t, a.wsUrl, 'late-on-a')
  t.match(await watcher.next(), { type: 'device_presence', result: { device_id: 'late-on-a', event: 'connected', state: 'online' } }, 'a device joining A')
  late.ws.close(1000)
  const closed: Closed = await late.closed
  t.equal(closed.code, 1000)
  t.match(await watcher.next(), { type: 'device_presence', result: { device_id: 'late-on-a', event: 'left', state: 'offline' } })
  t.match(await scoped.ask({ type: 'heartbeat', status: 'ok', client_type: 'constellation', client_id: 'scoped-galaxy' }), { type: 'heartbeat' }, 'nothing about devices it does not watch')
})

test('a constellation on B asking for presence of a device registered on no node is refused at registration, as on one node', async (t) => {
  const cluster = testCluster(t)
  await cluster.node('node-a')
  const b = await cluster.node('node-b')
  const galaxy = await TestClient.connect(t, b.wsUrl)
  t.match(await galaxy.ask(presenceConstellation('ghost-galaxy', 'ghost')), { type: 'error', error: "Target device 'ghost' is not connected" })
})
