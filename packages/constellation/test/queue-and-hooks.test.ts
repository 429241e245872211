import type { Transport } from '@aip/endpoint'
import { connectWebSocket } from '@aip/endpoint'
import { test } from 'tap'
import { ConstellationEndpoint, type ConstellationOptions } from '../src/index.js'
import { SimDevice, TestServer, waitFor } from './helpers.js'

test('FIFO per device, one task at a time by default', async (t) => {
  const server = await TestServer.start(t)
  await SimDevice.start(t, server.wsUrl, 'dev1')
  const started: string[] = []
  const ended: string[] = []
  let running = 0
  let maxRunning = 0
  server.endpoint.on('sessionStarted', ({ sessionId }) => { started.push(sessionId); maxRunning = Math.max(maxRunning, ++running) })
  server.endpoint.on('taskEnd', ({ sessionId }) => { ended.push(sessionId); running-- })
  const constellation = new ConstellationEndpoint({ taskName: 'q', maxQueuedTasks: 5 })
  t.teardown(() => constellation.stop())
  await constellation.connectToDevice({ deviceId: 'dev1', serverUrl: server.wsUrl })
  const ids = ['a', 'b', 'c', 'd', 'e', 'f']
  const tasks = ids.map((taskId, n) => constellation.sendTaskToDevice('dev1', { request: String(10 - n), taskId }))
  t.equal(constellation.getDevice('dev1')?.queued, 5, 'one sent, five queued')
  await t.rejects(constellation.sendTaskToDevice('dev1', { request: '1', taskId: 'b' }), { code: 'AIP_ERR_CONSTELLATION_DUPLICATE_SESSION' }, 'a task id pending on the device is refused')
  await t.rejects(constellation.sendTaskToDevice('dev1', { request: '1', taskId: 'z' }), { code: 'AIP_ERR_CONSTELLATION_QUEUE_FULL' })
  const ends = await Promise.all(tasks)
  t.same(ends.map((end) => end.taskId), ids)
  t.same(started, ids.map((id) => `q@${id}`), 'sent in order')
  t.same(ended, ids.map((id) => `q@${id}`), 'and ended in order')
  t.equal(maxRunning, 1, 'never two at once')
})

test('maxConcurrentTasks runs that many at once, still in FIFO order', async (t) => {
  const server = await TestServer.start(t)
  await SimDevice.start(t, server.wsUrl, 'dev1')
  const started: string[] = []
  let running = 0
  let maxRunning = 0
  server.endpoint.on('sessionStarted', ({ sessionId }) => { started.push(sessionId); maxRunning = Math.max(maxRunning, ++running) })
  server.endpoint.on('taskEnd', () => { running-- })
  const constellation = new ConstellationEndpoint({ taskName: 'q', maxConcurrentTasks: 2 })
  t.teardown(() => constellation.stop())
  await constellation.connectToDevice({ deviceId: 'dev1', serverUrl: server.wsUrl })
  const ids = ['a', 'b', 'c', 'd', 'e']
  await Promise.all(ids.map((taskId) => constellation.sendTaskToDevice('dev1', { request: '15', taskId })))
  t.same(started, ids.map((id) => `q@${id}`))
  t.equal(maxRunning, 2)
})

/** A transport factory that keeps the client transports, so a test can cut them like a network failure. */
function cuttable (): { factory: NonNullable<ConstellationOptions['transportFactory']>, cut: () => void } {
  const open = new Set<Transport>()
  return {
    factory: async (url, options) => {
      const transport = await connectWebSocket(url, { signal: options.signal, handshakeTimeoutMs: options.handshakeTimeoutMs })
      open.add(transport)
      transport.on('close', () => open.delete(transport))
      return transport
    },
    cut: () => { for (const transport of open) transport.terminate() }
  }
}

test('a CustomEndpoint subclass: hooks run in the reference order, tasks still settle, the queue resumes', async (t) => {
  // The reference behaviour: a server without a resume window cancels the running task at the drop.
  const server = await TestServer.start(t, { resumeWindowMs: 0 })
  await SimDevice.start(t, server.wsUrl, 'dev1')
  const calls: string[] = []
  const cleaned: string[] = []

  class CustomEndpoint extends ConstellationEndpoint {
    override async onDeviceDisconnected (deviceId: string): Promise<void> {
      calls.push(`onDeviceDisconnected:${deviceId}`)
      await this.customCleanup(deviceId)
      await super.onDeviceDisconnected(deviceId)
    }

    // Does not call super: the endpoint must still settle the running task.
    override async cancelDeviceTasks (deviceId: string, reason: string): Promise<void> {
      calls.push(`cancelDeviceTasks:${deviceId}:${reason}`)
    }

    override async reconnectDevice (deviceId: string, options?: { signal?: AbortSignal }): Promise<boolean> {
      const ok = await super.reconnectDevice(deviceId, options)
      calls.push(`reconnectDevice:${deviceId}:${String(ok)}`)
      return ok
    }

    async customCleanup (deviceId: string): Promise<void> {
      cleaned.push(deviceId)
    }
  }

  const network = cuttable()
  const endpoint = new CustomEndpoint({
    taskName: 'hooks',
    transportFactory: network.factory,
    reconnectionStrategy: { initialBackoffMs: 10, maxBackoffMs: 20, maxRetries: 50 }
  })
  t.teardown(() => endpoint.stop())
  const base: string[] = []
  endpoint.on('deviceDisconnected', ({ deviceId }) => base.push(deviceId))
  await endpoint.connectToDevice({ deviceId: 'dev1', serverUrl: server.wsUrl, maxRetries: 50 })
  const acked = new Promise((resolve) => endpoint.on('taskAck', resolve))
  const running = endpoint.sendTaskToDevice('dev1', { request: '2000', taskId: 'running' })
  const queued = endpoint.sendTaskToDevice('dev1', { request: '1', taskId: 'queued' })
  await acked
  network.cut()
  await t.rejects(running, { code: 'AIP_ERR_CONSTELLATION_DEVICE_DISCONNECTED' }, 'the running task fails at once')
  const end = await queued
  t.equal(end.status, 'completed', 'the queued task ran after the reconnection')
  t.same(calls.slice(0, 2), ['cancelDeviceTasks:dev1:device_disconnected', 'onDeviceDisconnected:dev1'], 'hooks in the reference order')
  t.match(calls.at(-1), /^reconnectDevice:dev1:true$/, 'then the reconnection')
  t.same(cleaned, ['dev1'])
  t.same(base, ['dev1'], 'super.onDeviceDisconnected emitted deviceDisconnected')
  t.equal(endpoint.getDevice('dev1')?.connections, 2)
})

test('a device that cannot come back is given up: state failed, queued tasks fail', async (t) => {
  const server = await TestServer.start(t)
  const device = await SimDevice.start(t, server.wsUrl, 'dev1')
  const network = cuttable()
  const constellation = new ConstellationEndpoint({
    taskName: 'giveup',
    transportFactory: network.factory,
    reconnectionStrategy: { initialBackoffMs: 5, maxBackoffMs: 10, maxRetries: 10 }
  })
  t.teardown(() => constellation.stop())
  await constellation.connectToDevice({ deviceId: 'dev1', serverUrl: server.wsUrl, maxRetries: 3 })
  const states: string[] = []
  constellation.on('deviceState', ({ to }) => states.push(to))
  device.kill()
  await waitFor(() => !server.endpoint.isConnected('dev1'), 2000, 'device gone')
  const acked = new Promise((resolve) => constellation.on('taskSent', resolve))
  const refused = constellation.sendTaskToDevice('dev1', { request: '1', taskId: 'first' })
  await acked
  network.cut()
  // Registration is now refused (the target device is gone) on every attempt; the profile allows 3.
  const queued = constellation.sendTaskToDevice('dev1', { request: '1', taskId: 'second' })
  await t.rejects(refused)
  await t.rejects(queued, { code: 'AIP_ERR_CONSTELLATION_DEVICE_DISCONNECTED', message: /given up/ })
  t.equal(constellation.getDevice('dev1')?.status, 'failed')
  t.equal(states.filter((s) => s === 'connecting').length, 3, 'three attempts, as the profile says')
  t.equal(states.at(-1), 'failed')
})
