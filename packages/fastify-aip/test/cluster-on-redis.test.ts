import { test } from 'tap'
import { InMemoryClusterHub } from '@aip/device-server'
import { API_KEY, buildApp, injectedDevice, logCapture } from './helpers/harness.js'
import { eventually, twoAppsOnRedis } from './helpers/cluster.js'

test('two apps on one Redis (the redis option): health names the node and its Redis state, /clients lists both nodes\' clients', async (t) => {
  const logs = logCapture()
  const apps = await twoAppsOnRedis(t, { logger: { stream: logs.stream } })
  if (apps === undefined) return
  const { a, b, redis } = apps
  const health = async (app: typeof a): Promise<Record<string, any>> => (await app.inject({ url: '/api/health', headers: { 'x-api-key': API_KEY } })).json()
  await eventually(async () => (await health(a)).cluster?.state === 'ready' && (await health(b)).cluster?.state === 'ready', 'both nodes ready')
  t.same((await health(a)).cluster, { node_id: 'node-a', state: 'ready' })

  await injectedDevice(t, a, '/ws', 'dev-on-a')
  await injectedDevice(t, b, '/ws', 'dev-on-b')
  const clients = async (): Promise<Record<string, any>> => (await b.inject({ url: '/api/clients', headers: { 'x-api-key': API_KEY } })).json()
  await eventually(async () => (await clients()).online_clients.length === 2, 'both devices listed')
  const listed = await clients()
  t.same(listed.online_clients, ['dev-on-a', 'dev-on-b'], 'node B lists the device of node A too')
  t.same(listed.clients.map((c: Record<string, unknown>) => c.node_id), ['node-a', 'node-b'], 'each with its node')
  t.same((await health(b)).online_clients, ['dev-on-b'], 'health lists this node\'s clients only')
  t.notOk(logs.text().includes(redis.url.replace('redis://', 'redis://:')), 'nothing logs a password-bearing URL')

  // Redis goes away: health still answers, with the state; the cluster-wide listing is refused with 503.
  await redis.stop()
  await eventually(async () => (await health(b)).cluster?.state !== 'ready', 'the node sees Redis gone')
  t.match((await health(b)).cluster.state, /reconnecting|down/)
  await eventually(async () => (await health(b)).cluster?.problem !== undefined, 'a reconnection attempt failed')
  t.match((await health(b)).cluster.problem, { code: 'ECONNREFUSED', message: /ECONNREFUSED/ }, 'with the connection\'s last error')
  const refused = await b.inject({ url: '/api/clients', headers: { 'x-api-key': API_KEY } })
  t.equal(refused.statusCode, 503)
  t.equal(refused.json().code, 'AIP_ERR_CLUSTER_UNAVAILABLE')
  await redis.start()
  await eventually(async () => (await health(b)).cluster?.state === 'ready', 'the node is back on its own')
  t.same((await health(b)).cluster, { node_id: 'node-b', state: 'ready' }, 'and says no problem once ready')
})

test('the redis option is checked, and never shows its URL', async (t) => {
  const hub = new InMemoryClusterHub()
  const bad: Array<[string, unknown, Record<string, unknown>?]> = [
    ['redis', 'redis://x'],
    ['redis.url', { url: 'http://:s3cret@host:6379' }],
    ['redis.url', { url: 42 }],
    ['redis.keyPrefix', { url: 'redis://:s3cret@host:6379', keyPrefix: '' }],
    ['redis.nodeId', { url: 'redis://:s3cret@host:6379', nodeId: 7 }],
    ['redis.nodeLeaseMs', { url: 'redis://:s3cret@host:6379', nodeLeaseMs: 1 }],
    ['redis', { url: 'redis://:s3cret@host:6379' }, { cluster: hub.link('n1') }]
  ]
  for (const [name, redis, extra] of bad) {
    const error = await buildApp(t, { redis: redis as never, ...extra }).then(() => null, (err: Error) => err)
    t.match(error, { code: 'AIP_ERR_INVALID_OPTION', message: new RegExp(`Invalid option ${name.replace('.', '\\.')}`) }, name)
    t.notMatch(error?.message ?? '', /s3cret/, 'no password in the error')
  }
})
