import { test } from 'tap'
import { ConstellationEndpoint } from '../src/index.js'
import { SimDevice, TestServer, tcpProxy } from './helpers.js'

const fast = { maxRetries: Infinity, initialBackoffMs: 20, maxBackoffMs: 100 }

/** A URL on 127.0.0.1 where nothing listens (a server started, then stopped). */
async function deadUrl (t: Parameters<typeof TestServer.start>[0]): Promise<string> {
  const server = await TestServer.start(t)
  await server.stop()
  return `ws://127.0.0.1:${server.port}/ws?token=dead-token`
}

function constellation (t: { teardown: (fn: () => unknown) => void }): ConstellationEndpoint {
  const endpoint = new ConstellationEndpoint({ taskName: 'galaxy', reconnectionStrategy: fast, heartbeatIntervalMs: 60_000 })
  t.teardown(() => endpoint.stop())
  return endpoint
}

test('the first server of a device\'s list is down: it connects through the next one, and the events say which', async (t) => {
  const dead = await deadUrl(t)
  const server = await TestServer.start(t)
  await SimDevice.start(t, server.wsUrl, 'dev1')
  const galaxy = constellation(t)
  const states: Array<{ to: string, serverUrl: string }> = []
  galaxy.on('deviceState', ({ to, serverUrl }) => states.push({ to, serverUrl }))
  await galaxy.connectToDevice({ deviceId: 'dev1', serverUrl: [dead, server.wsUrl] })
  const base = `ws://127.0.0.1:${server.port}/ws`
  t.same(states.find((state) => state.to === 'connected'), { to: 'connected', serverUrl: base }, 'connected, through the second server')
  const snapshot = galaxy.getDevice('dev1')
  t.equal(snapshot?.serverUrl, base)
  t.same(snapshot?.serverUrls, [dead.replace('?token=dead-token', ''), base], 'every server, without its query')
  t.equal((await galaxy.sendTaskToDevice('dev1', { request: '1' })).status, 'completed', 'a task runs there')
})

test('a lost connection goes to the next server first, where the task queue goes on', async (t) => {
  const first = await TestServer.start(t)
  const second = await TestServer.start(t)
  // The device is on both servers (two separate servers here; in a cluster it would be one registration).
  await SimDevice.start(t, first.wsUrl, 'dev1')
  await SimDevice.start(t, second.wsUrl, 'dev1')
  const proxy = await tcpProxy(t, first.port)
  const galaxy = constellation(t)
  await galaxy.connectToDevice({ deviceId: 'dev1', serverUrl: [`ws://127.0.0.1:${proxy.port}/ws`, second.wsUrl] })
  t.equal(galaxy.getDevice('dev1')?.serverUrl, `ws://127.0.0.1:${proxy.port}/ws`, 'connected through the first server')
  const back = new Promise<string>((resolve) => {
    const off = galaxy.on('deviceState', ({ to, serverUrl }) => { if (to === 'connected') { off(); resolve(serverUrl) } })
  })
  proxy.cut()
  t.equal(await back, `ws://127.0.0.1:${second.port}/ws`, 'connected again, through the next server')
  t.equal(proxy.connections, 1, 'the lost server was not tried first')
  const end = await galaxy.sendTaskToDevice('dev1', { request: '1' })
  t.equal(end.status, 'completed')
  t.ok(second.endpoint.listClients().some((c) => c.clientId === 'galaxy@dev1'), 'the same client id registered on the next server')
})

test('a device whose every server refuses at the first connection fails with the round\'s failure', async (t) => {
  const galaxy = constellation(t)
  const urls = [await deadUrl(t), await deadUrl(t)]
  await t.rejects(galaxy.connectToDevice({ deviceId: 'dev1', serverUrl: urls }), { code: 'AIP_ERR_CONSTELLATION_CONNECT' })
  t.equal(galaxy.getDevice('dev1')?.status, 'failed')
})

test('a list of server URLs is validated, and an error never shows a URL', async (t) => {
  const galaxy = constellation(t)
  const bad: Array<[string, unknown]> = [
    ['agentProfile.serverUrl', []],
    ['agentProfile.serverUrl', Array.from({ length: 65 }, (_, i) => `ws://h${i}/ws`)],
    ['agentProfile.serverUrl\\[1\\]', ['ws://a/ws?token=s3cret', 'http://b/ws?token=s3cret']],
    ['agentProfile.serverUrl\\[1\\]', ['ws://a/ws?token=s3cret', 'ws://a/ws?token=s3cret']],
    ['agentProfile.serverUrl', 42]
  ]
  for (const [name, serverUrl] of bad) {
    const error = await galaxy.connectToDevice({ deviceId: 'dev1', serverUrl: serverUrl as string[] }).then(() => null, (err: Error) => err)
    t.match(error, { code: 'AIP_ERR_INVALID_ARGUMENT', message: new RegExp(name) }, name)
    t.notMatch(error?.message ?? '', /s3cret/, 'no token in the error')
  }
})

test('a connected device cannot be moved to other servers by a second connectToDevice', async (t) => {
  const server = await TestServer.start(t)
  const other = await TestServer.start(t)
  await SimDevice.start(t, server.wsUrl, 'dev1')
  const galaxy = constellation(t)
  await galaxy.connectToDevice({ deviceId: 'dev1', serverUrl: [server.wsUrl] })
  await galaxy.connectToDevice({ deviceId: 'dev1', serverUrl: server.wsUrl })
  t.pass('the same single server, as a string or a list of one, joins the connection')
  await t.rejects(galaxy.connectToDevice({ deviceId: 'dev1', serverUrl: [server.wsUrl, other.wsUrl] }), { code: 'AIP_ERR_INVALID_ARGUMENT' })
})
