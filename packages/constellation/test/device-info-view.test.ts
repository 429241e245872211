import { test } from 'tap'
import { connectedConstellation } from './continuity-helpers.js'
import { ConstellationEndpoint, normalizeDeviceInfo } from '../src/index.js'
import { scriptedServer, serverFrame } from './helpers.js'

test('requestDeviceInfo with view answers the reference record and its normalised view', async (t) => {
  // The record the Python reference server answers (wire corpus, s1).
  const record = {
    device_id: 'dev1',
    platform: 'linux',
    os_version: '#1 SMP PREEMPT_DYNAMIC @0',
    cpu_count: 2,
    memory_total_gb: 23.54,
    hostname: 'vm',
    ip_address: '192.0.2.2',
    supported_features: ['gui', 'cli', 'browser', 'file_system', 'office', 'linux_apps'],
    platform_type: 'computer',
    schema_version: '1.0',
    custom_metadata: {}
  }
  const { url } = await scriptedServer(t, async (socket) => {
    await socket.next()
    socket.send(serverFrame({ type: 'heartbeat', status: 'ok' }))
    for (let i = 0; i < 2; i++) {
      const request = await socket.next()
      socket.send(serverFrame({ type: 'device_info_response', status: 'ok', response_id: request.request_id, result: record }))
    }
  })
  const constellation = new ConstellationEndpoint({ taskName: 'galaxy' })
  t.teardown(() => constellation.stop())
  await constellation.connectToDevice({ deviceId: 'dev1', serverUrl: url })
  t.same(await constellation.requestDeviceInfo('dev1'), record, 'alone, the record as the server sent it')
  const answer = await constellation.requestDeviceInfo('dev1', { view: true })
  t.same(answer.record, record, 'with view, the same record beside it')
  t.same(answer.view, {
    deviceId: 'dev1',
    hostname: 'vm',
    ipAddress: '192.0.2.2',
    os: { platform: 'linux', version: '#1 SMP PREEMPT_DYNAMIC @0' },
    cpu: { count: 2, loadAverage: null },
    gpu: null,
    memory: { totalGb: 23.54, freeGb: null, usedPercent: null },
    uptimeS: null,
    features: ['gui', 'cli', 'browser', 'file_system', 'office', 'linux_apps'],
    platformType: 'computer',
    schemaVersion: '1.0',
    custom: {}
  })
})

test('a device-info answer that is not an object has no view', async (t) => {
  const { url } = await scriptedServer(t, async (socket) => {
    await socket.next()
    socket.send(serverFrame({ type: 'heartbeat', status: 'ok' }))
    const request = await socket.next()
    socket.send(serverFrame({ type: 'device_info_response', status: 'ok', response_id: request.request_id, result: null }))
  })
  const constellation = await connectedConstellation(t, url)
  t.same(await constellation.requestDeviceInfo('dev1', { view: true }), { record: null, view: null })
})

test('the normalised view reads the reference fields and the live readings, and nulls what is missing or mistyped', async (t) => {
  const view = normalizeDeviceInfo({
    device_id: 'dev1',
    platform: 'linux',
    os_version: '6.1',
    cpu_count: 8,
    memory_total_gb: 15.5,
    hostname: 'box',
    ip_address: '192.0.2.7',
    supported_features: ['gui', 3, 'cli'],
    platform_type: 'computer',
    schema_version: '1.0',
    custom_metadata: { gpu: 'RTX', site: 'lab' },
    memory_percent: 41.5,
    memory_free_gb: 9.1,
    load_average: 0.5,
    uptime_s: 100
  })
  t.same(view, {
    deviceId: 'dev1',
    hostname: 'box',
    ipAddress: '192.0.2.7',
    os: { platform: 'linux', version: '6.1' },
    cpu: { count: 8, loadAverage: 0.5 },
    gpu: 'RTX',
    memory: { totalGb: 15.5, freeGb: 9.1, usedPercent: 41.5 },
    uptimeS: 100,
    features: ['gui', 'cli'],
    platformType: 'computer',
    schemaVersion: '1.0',
    custom: { gpu: 'RTX', site: 'lab' }
  })
  const sparse = normalizeDeviceInfo({ cpu_count: 'eight', custom_metadata: [], supported_features: 'gui', gpu: { name: 'A100' } })
  t.same(sparse.cpu, { count: null, loadAverage: null })
  t.same(sparse.gpu, { name: 'A100' }, 'a top-level gpu wins')
  t.same(sparse.features, [])
  t.same(sparse.custom, {})
  t.equal(sparse.os.platform, null)
  t.equal(normalizeDeviceInfo({}).gpu, null)
})
