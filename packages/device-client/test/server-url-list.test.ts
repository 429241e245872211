import { test } from 'tap'
import { ReconnectionStrategy } from '@aip/resilience'
import type { DeviceClientEvents } from '../src/index.js'
import { client, nextEvent, startProxy, startServer } from './helpers/net.js'

const fast = (): ReconnectionStrategy => new ReconnectionStrategy({ maxRetries: Infinity, initialBackoffMs: 20, maxBackoffMs: 100 })

/** A URL on 127.0.0.1 where nothing listens (a server started, then closed). */
async function deadUrl (t: Parameters<typeof startServer>[0]): Promise<string> {
  const server = await startServer(t)
  await server.close()
  return `ws://127.0.0.1:${server.port}/ws?token=dead-token`
}

test('the first server of the list is down: the device registers on the next one and says which', async (t) => {
  const dead = await deadUrl(t)
  const second = await startServer(t)
  const device = client(t, { wsUrl: [dead, second.wsUrl], clientId: 'dev1', reconnectionStrategy: fast() })
  const failed: Array<DeviceClientEvents['attemptFailed']> = []
  device.on('attemptFailed', (event) => failed.push(event))
  const registeredOn = nextEvent(device, 'registeredOn')
  await device.start()
  t.same(await registeredOn, { url: second.wsUrl, index: 1 })
  t.equal(failed.length, 1, 'one failed attempt: the dead server')
  t.match(failed[0], { index: 0, reason: 'network', url: dead.replace('dead-token', '[redacted]') }, 'named by its redacted URL')
  t.equal(device.serverUrl, second.wsUrl)
  t.ok(second.endpoint.isConnected('dev1'), 'registered on the second server')
  t.equal(device.options.wsUrl, dead, 'options.wsUrl is the first URL')
  t.same(device.options.wsUrls, [dead, second.wsUrl])
})

test('a lost connection goes to the next server first, even when the lost one still answers', async (t) => {
  const first = await startServer(t)
  const second = await startServer(t)
  const proxy = await startProxy(t, first.port)
  const device = client(t, { wsUrl: [`ws://127.0.0.1:${proxy.port}/ws`, second.wsUrl], clientId: 'dev1', reconnectionStrategy: fast() })
  t.same(await Promise.all([nextEvent(device, 'registeredOn'), device.start()]).then(([on]) => on), { url: `ws://127.0.0.1:${proxy.port}/ws`, index: 0 })
  const disconnected = nextEvent(device, 'disconnected')
  const registeredOn = nextEvent(device, 'registeredOn')
  proxy.cut()
  t.equal((await disconnected).url, `ws://127.0.0.1:${proxy.port}/ws`, 'the disconnection names the server lost')
  t.same(await registeredOn, { url: second.wsUrl, index: 1 }, 'registered on the next server')
  t.equal(proxy.connections, 1, 'the lost server was not tried first')
  t.ok(second.endpoint.isConnected('dev1'))
  t.same(second.endpoint.listClients().map((c) => c.clientId), ['dev1'], 'the same client id registers on the other server')
  t.equal(device.status.kind, 'registered')
})

test('the reconnection strategy waits between full rounds, not between the servers of a round', async (t) => {
  const urls = [await deadUrl(t), await deadUrl(t)]
  const device = client(t, { wsUrl: urls, clientId: 'dev1', reconnectionStrategy: fast() })
  const failedIndexes: number[] = []
  device.on('attemptFailed', ({ index }) => failedIndexes.push(index))
  const seen: Array<{ attempt: number, failures: number }> = []
  device.on('reconnecting', ({ attempt }) => seen.push({ attempt, failures: failedIndexes.length }))
  device.start().catch(() => {})
  await nextEvent(device, 'reconnecting', ({ attempt }) => attempt === 3)
  t.same(seen, [{ attempt: 1, failures: 2 }, { attempt: 2, failures: 4 }, { attempt: 3, failures: 6 }], 'each wait follows a round of two attempts')
  t.same(failedIndexes, [0, 1, 0, 1, 0, 1], 'a round that failed everywhere is followed by the same round')
})

test('a refusal that retrying cannot heal on one server does not stop a device that another server accepts', async (t) => {
  const locked = await startServer(t, { token: 'other-fleet' })
  const open = await startServer(t)
  const device = client(t, { wsUrl: [locked.wsUrl, open.wsUrl], clientId: 'dev1', reconnectionStrategy: fast() })
  const failed = nextEvent(device, 'attemptFailed')
  await device.start()
  t.equal((await failed).reason, 'credentials')
  t.equal(device.serverUrl, open.wsUrl, 'registered on the server that accepts it')
})

test('when every server of the round refuses for good, the device stops with the last refusal', async (t) => {
  const a = await startServer(t, { token: 'a' })
  const b = await startServer(t, { token: 'b' })
  const device = client(t, { wsUrl: [a.wsUrl, b.wsUrl], clientId: 'dev1', reconnectionStrategy: fast() })
  await t.rejects(device.start(), { code: 'AIP_ERR_DEVICE_CONNECTION' })
  t.match(device.status, { kind: 'stopped', reason: 'fatal', failure: 'credentials' })
})

test('a list of server URLs is validated, and an error never shows a URL', async (t) => {
  const base = { clientId: 'dev1' }
  const bad: Array<[string, unknown]> = [
    ['wsUrl', []],
    ['wsUrl', Array.from({ length: 65 }, (_, i) => `ws://h${i}/ws`)],
    ['wsUrl\\[1\\]', ['ws://a/ws?token=s3cret', 'http://b/ws?token=s3cret']],
    ['wsUrl\\[1\\]', ['ws://a/ws?token=s3cret', 'ws://a/ws?token=s3cret']],
    ['wsUrl\\[0\\]', [42]],
    ['wsUrl', 42]
  ]
  for (const [name, wsUrl] of bad) {
    const error = t.throws(() => client(t, { ...base, wsUrl: wsUrl as string[] }), { code: 'AIP_ERR_INVALID_OPTION', message: new RegExp(`Invalid option ${name}`) }, name) as Error
    t.notMatch(error.message, /s3cret/, 'no token in the error')
  }
  t.same(client(t, { ...base, wsUrl: ['ws://a/ws', 'wss://b/ws'] }).options.wsUrls, ['ws://a/ws', 'wss://b/ws'])
})
