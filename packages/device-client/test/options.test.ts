import { test } from 'tap'
import { ReconnectionStrategy } from '@aip/resilience'
import { DeviceClientEndpoint, type DeviceClientOptions } from '../src/index.js'
import { collectSystemInfo, detectFeatures, platformType, primaryIpv4, referencePlatform } from '../src/internal.js'

const base = { wsUrl: 'ws://127.0.0.1:1/ws', clientId: 'dev1' }

test('defaults are filled once and frozen', async (t) => {
  const device = new DeviceClientEndpoint(base)
  const o = device.options
  t.ok(Object.isFrozen(o))
  t.equal(o.heartbeatIntervalMs, 20_000)
  t.equal(o.maxMissedHeartbeats, 3)
  t.equal(o.namespace, 'aip')
  t.equal(o.timeoutMs, 10_000)
  t.equal(o.toolTimeoutMs, 60_000)
  t.equal(o.earlyExit, true)
  t.equal(o.reconnectionStrategy.options.maxRetries, Infinity, 'a device retries for ever by default')
  t.equal(o.platform, referencePlatform(process.platform))
  t.equal(device.clientId, 'dev1')
  t.equal(device.pendingResults, 0)
  t.notOk(device.isConnected())
  t.equal(new DeviceClientEndpoint({ ...base, earlyExit: false, maxPendingResults: 0 }).options.earlyExit, false, '?? keeps false')
})

test('invalid options throw AIP_ERR_INVALID_OPTION naming the option', async (t) => {
  const bad: Array<[string, Partial<DeviceClientOptions> | null]> = [
    ['options', null],
    ['wsUrl', { wsUrl: 'http://x' }],
    ['wsUrl', { wsUrl: 'not a url' }],
    ['clientId', { clientId: '' }],
    ['heartbeatIntervalMs', { heartbeatIntervalMs: 0 }],
    ['maxMissedHeartbeats', { maxMissedHeartbeats: 1.5 }],
    ['tools', { tools: [] as never }],
    ['tools.x', { tools: { x: {} as never } }],
    ['tools.list_tools', { tools: { list_tools: { handler: () => 1 } } }],
    ['tools.x.timeoutMs', { tools: { x: { handler: () => 1, timeoutMs: -1 } } }],
    ['tools.x.toolType', { tools: { x: { handler: () => 1, toolType: 'other' as never } } }],
    ['tools', { tools: { ' ': { handler: () => 1 } } }],
    ['reconnectionStrategy', { reconnectionStrategy: {} as never }],
    ['maxRetries', { reconnectionStrategy: new ReconnectionStrategy(), maxRetries: 3 }],
    ['maxRetries', { maxRetries: -1 }],
    ['headers', { headers: { a: 1 } as never }],
    ['customMetadata', { customMetadata: [] as never }],
    ['supportedFeatures', { supportedFeatures: [1] as never }],
    ['now', { now: 1 as never }],
    ['earlyExit', { earlyExit: 'yes' as never }],
    ['logger', { logger: { info: () => {} } as never }],
    ['platform', { platform: '' }]
  ]
  for (const [name, patch] of bad) {
    const options = patch === null ? null : { ...base, ...patch }
    t.throws(() => new DeviceClientEndpoint(options as DeviceClientOptions), { code: 'AIP_ERR_INVALID_OPTION', message: new RegExp(`Invalid option ${name.replace('.', '\\.')}`) }, name)
  }
  const logger = { debug () {}, info () {}, warn () {}, error () {}, child () { return this } }
  t.equal(new DeviceClientEndpoint({ ...base, logger, maxRetries: 2 }).options.reconnectionStrategy.options.maxRetries, 2)
})

test('telemetry: the reference DeviceSystemInfo from node:os, with fallbacks', async (t) => {
  t.equal(referencePlatform('win32'), 'windows')
  t.equal(referencePlatform('darwin'), 'darwin')
  t.same(detectFeatures('windows').at(-1), 'windows_apps')
  t.same(detectFeatures('darwin').at(-1), 'macos_apps')
  t.same(detectFeatures('android'), ['mobile_touch', 'mobile_apps', 'camera', 'gps'])
  t.same(detectFeatures('aix'), [])
  t.equal(platformType('linux'), 'computer')
  t.equal(platformType('ios'), 'mobile')
  t.equal(platformType('aix'), 'unknown')
  t.equal(primaryIpv4({ lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true } as never], eth0: [{ address: 'fe80::1', family: 'IPv6', internal: false } as never, { address: '10.0.0.2', family: 'IPv4', internal: false } as never] }), '10.0.0.2')
  t.equal(primaryIpv4({ lo: undefined }), null)
  const info = collectSystemInfo({
    clientId: 'd',
    supportedFeatures: ['cli'],
    source: {
      platform: () => 'win32',
      version: () => { throw new Error('no') },
      cpuCount: () => 8,
      totalmem: () => 17_179_869_184 * 1.5,
      hostname: () => 'box',
      networkInterfaces: () => ({})
    }
  })
  t.same(info, {
    device_id: 'd',
    platform: 'windows',
    os_version: 'unknown',
    cpu_count: 8,
    memory_total_gb: 24,
    hostname: 'box',
    ip_address: null,
    supported_features: ['cli'],
    platform_type: 'computer',
    schema_version: '1.0',
    custom_metadata: {}
  })
})
