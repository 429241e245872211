import { ReconnectionStrategy } from '@aip/resilience'
import { test } from 'tap'
import { ConstellationEndpoint } from '../src/index.js'
import { SimDevice, TestServer } from './helpers.js'

const INVALID = { code: 'AIP_ERR_INVALID_OPTION' }

test('options are validated once, with defaults, and frozen', async (t) => {
  const endpoint = new ConstellationEndpoint({ taskName: 'g' })
  t.teardown(() => endpoint.stop())
  t.ok(Object.isFrozen(endpoint.options))
  t.equal(endpoint.taskName, 'g')
  t.match(endpoint.options, {
    autoReconnect: true,
    connectTimeoutMs: 10_000,
    registrationTimeoutMs: 10_000,
    heartbeatIntervalMs: 30_000,
    maxMissedHeartbeats: 3,
    taskTimeoutMs: 300_000,
    deviceInfoTimeoutMs: 10_000,
    maxConcurrentTasks: 1,
    maxQueuedTasks: 10_000,
    keepQueueWhileReconnecting: true,
    continuity: true,
    resumeMarginMs: 2000,
    cancelConfirmTimeoutMs: 10_000
  })
  t.equal(new ConstellationEndpoint({ taskName: 'g', resumeMarginMs: 0 }).options.resumeMarginMs, 0, 'no margin is allowed')
  t.equal(new ConstellationEndpoint({ taskName: 'g', maxQueuedTasks: 0 }).options.maxQueuedTasks, 0, '0 is kept (?? not ||)')
  t.equal(new ConstellationEndpoint({ taskName: 'g', autoReconnect: false }).options.autoReconnect, false)
})

test('invalid options are coded errors', async (t) => {
  t.throws(() => new ConstellationEndpoint(undefined as never), INVALID)
  t.throws(() => new ConstellationEndpoint({} as never), INVALID)
  t.throws(() => new ConstellationEndpoint({ taskName: ' ' }), INVALID)
  t.throws(() => new ConstellationEndpoint({ taskName: 'g', taskTimeoutMs: 0 }), INVALID)
  t.throws(() => new ConstellationEndpoint({ taskName: 'g', maxConcurrentTasks: 1.5 }), INVALID)
  t.throws(() => new ConstellationEndpoint({ taskName: 'g', autoReconnect: 'yes' as never }), INVALID)
  t.throws(() => new ConstellationEndpoint({ taskName: 'g', logger: {} as never }), INVALID)
  t.throws(() => new ConstellationEndpoint({ taskName: 'g', messageProcessor: 42 as never }), INVALID)
  t.throws(() => new ConstellationEndpoint({ taskName: 'g', reconnectionStrategy: 42 as never }), INVALID)
  t.throws(() => new ConstellationEndpoint({ taskName: 'g', reconnectionStrategy: { maxRetries: -1 } }), INVALID)
  t.throws(() => new ConstellationEndpoint({ taskName: 'g', transportFactory: 'ws' as never }), INVALID)
  t.throws(() => new ConstellationEndpoint({ taskName: 'g', continuity: 'yes' as never }), INVALID)
  t.throws(() => new ConstellationEndpoint({ taskName: 'g', resumeMarginMs: -1 }), INVALID)
  t.throws(() => new ConstellationEndpoint({ taskName: 'g', cancelConfirmTimeoutMs: 0 }), INVALID)
  t.doesNotThrow(() => new ConstellationEndpoint({ taskName: 'g', messageProcessor: null as never }))
})

test('a strategy instance is shared; a factory builds one per server', async (t) => {
  const server = await TestServer.start(t)
  await SimDevice.start(t, server.wsUrl, 'dev1')
  const shared = new ReconnectionStrategy({ maxRetries: 1 })
  const a = new ConstellationEndpoint({ taskName: 'a', reconnectionStrategy: shared })
  t.teardown(() => a.stop())
  await a.connectToDevice({ deviceId: 'dev1', serverUrl: server.wsUrl })
  const urls: string[] = []
  const b = new ConstellationEndpoint({ taskName: 'b', reconnectionStrategy: (url) => { urls.push(url); return shared } })
  t.teardown(() => b.stop())
  await b.connectToDevice({ deviceId: 'dev1', serverUrl: `${server.wsUrl}?token=x` })
  t.same(urls, [`ws://127.0.0.1:${server.port}/ws`], 'the factory gets the URL without its query')
  const c = new ConstellationEndpoint({ taskName: 'c', reconnectionStrategy: () => 42 as never })
  await t.rejects(c.connectToDevice({ deviceId: 'dev1', serverUrl: server.wsUrl }), INVALID)
  await c.stop()
})

test('agent profiles and task requests are checked', async (t) => {
  const endpoint = new ConstellationEndpoint({ taskName: 'g' })
  t.teardown(() => endpoint.stop())
  const BAD = { code: 'AIP_ERR_INVALID_ARGUMENT' }
  await t.rejects(endpoint.connectToDevice(null as never), BAD)
  await t.rejects(endpoint.connectToDevice({ deviceId: '', serverUrl: 'ws://h/ws' }), BAD)
  await t.rejects(endpoint.connectToDevice({ deviceId: 'd', serverUrl: 42 as never }), BAD)
  await t.rejects(endpoint.connectToDevice({ deviceId: 'd', serverUrl: 'not a url' }), BAD)
  await t.rejects(endpoint.connectToDevice({ deviceId: 'd', serverUrl: 'http://h/ws' }), BAD)
  await t.rejects(endpoint.connectToDevice({ deviceId: 'd', serverUrl: 'ws://h/ws', maxRetries: -1 }), BAD)
  await t.rejects(endpoint.connectToDevice({ deviceId: 'd', serverUrl: 'ws://h/ws', capabilities: [1] as never }), BAD)
  await t.rejects(endpoint.connectToDevice({ deviceId: 'd', serverUrl: 'ws://h/ws', metadata: [] as never }), BAD)
  await t.rejects(endpoint.sendTaskToDevice('d', null as never), BAD)
  await t.rejects(endpoint.sendTaskToDevice('d', { request: '' }), BAD)
  await t.rejects(endpoint.sendTaskToDevice('d', { request: 'x', taskId: '' }), BAD)
  await t.rejects(endpoint.sendTaskToDevice('d', { request: 'x', taskName: '' }), BAD)
  await t.rejects(endpoint.sendTaskToDevice('d', { request: 'x', timeoutMs: -5 }), BAD)
  await t.rejects(endpoint.sendTaskToDevice('d', { request: 'x' }), { code: 'AIP_ERR_CONSTELLATION_UNKNOWN_DEVICE' })
})
