import type { Extension } from '@aip/endpoint'
import { test } from 'tap'
import { ConstellationEndpoint } from '../src/index.js'
import { SimDevice, TestServer } from './helpers.js'

/** An extension that counts every frame in and out, by device and type. */
function frameCounter (): Extension & { frames: string[] } {
  const counter = {
    name: 'frame-counter',
    frames: [] as string[],
    onSend: (message: { type: string }, _info: unknown, context: { endpointId: string | undefined }) => { counter.frames.push(`${String(context.endpointId)} > ${message.type}`) },
    onReceive: (message: { type: string }, _info: unknown, context: { endpointId: string | undefined }) => { counter.frames.push(`${String(context.endpointId)} < ${message.type}`) }
  }
  return counter
}

test('an extension registered with use() sees every frame of a full task on the constellation, per device', async (t) => {
  const server = await TestServer.start(t)
  await SimDevice.start(t, server.wsUrl, 'dev1')
  await SimDevice.start(t, server.wsUrl, 'dev2')
  const constellation = new ConstellationEndpoint({ taskName: 'galaxy' })
  t.teardown(() => constellation.stop())
  const counter = frameCounter()
  constellation.use(counter)
  await constellation.connectToDevice({ deviceId: 'dev1', serverUrl: server.wsUrl })
  await constellation.connectToDevice({ deviceId: 'dev2', serverUrl: server.wsUrl })
  t.same(constellation.connectionKeys().sort(), ['dev1', 'dev2'], 'one connection per device, keyed by device id')
  const end = await constellation.sendTaskToDevice('dev1', { request: '1', taskId: 't1' })
  t.equal(end.status, 'completed')
  t.same(counter.frames, [
    'dev1 > register', 'dev1 < heartbeat',
    'dev2 > register', 'dev2 < heartbeat',
    'dev1 > task', 'dev1 < heartbeat', 'dev1 < task_end'
  ], 'REGISTER and its answer per device, then the TASK, its ack and its TASK_END')
})

test('sendWithTimeout, receiveWithTimeout and isConnected act on a device connection by device id', async (t) => {
  const server = await TestServer.start(t)
  await SimDevice.start(t, server.wsUrl, 'dev1')
  await SimDevice.start(t, server.wsUrl, 'dev2')
  const constellation = new ConstellationEndpoint({ taskName: 'galaxy' })
  t.teardown(() => constellation.stop())
  t.notOk(constellation.isConnected('dev1'))
  await constellation.connectToDevice({ deviceId: 'dev1', serverUrl: server.wsUrl })
  t.ok(constellation.isConnected('dev1'))
  t.ok(constellation.isConnected(), 'the only connection')
  await constellation.connectToDevice({ deviceId: 'dev2', serverUrl: server.wsUrl })
  t.ok(constellation.isConnected(), 'any device')
  const answer = constellation.receiveWithTimeout('heartbeat', 5000, 'dev2')
  await constellation.sendWithTimeout({
    type: 'heartbeat', status: 'ok', client_id: 'galaxy@dev2', client_type: 'constellation', metadata: { device_id: 'dev2' }
  }, 5000, 'dev2')
  t.match(await answer, { type: 'heartbeat', status: 'ok' })
  await t.rejects(constellation.sendWithTimeout({ type: 'heartbeat', status: 'ok' }, 5000, 'nobody'), { code: 'AIP_ERR_ENDPOINT_NOT_CONNECTED' })
  await constellation.disconnectDevice('dev2')
  t.notOk(constellation.isConnected('dev2'))
  t.same(constellation.connectionKeys(), ['dev1'])
})
