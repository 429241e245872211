import { test } from 'tap'
import { InMemoryClusterHub } from '@aip/device-server'
import { API_KEY, buildApp, injectedDevice } from './helpers/harness.js'

const headers = { 'x-api-key': API_KEY }

test('POST /api/dispatch for a device on another node answers 503 AIP_ERR_CLUSTER_UNAVAILABLE while the store is away', async (t) => {
  const hub = new InMemoryClusterHub()
  const a = await buildApp(t, { apiKey: API_KEY, cluster: hub.link('node-a') })
  const b = await buildApp(t, { apiKey: API_KEY, cluster: hub.link('node-b') })
  await injectedDevice(t, a, '/ws', 'dev-a')
  hub.setAvailable(false)
  const refused = await b.inject({ method: 'POST', url: '/api/dispatch', headers, payload: { client_id: 'dev-a', request: 'x' } })
  t.equal(refused.statusCode, 503)
  t.match(refused.json(), { code: 'AIP_ERR_CLUSTER_UNAVAILABLE', statusCode: 503 })
  await t.rejects(b.aip.tasks.dispatch('dev-a', 'x'), { code: 'AIP_ERR_CLUSTER_UNAVAILABLE' })
})

test('POST /api/dispatch for a device registered on no node answers 404, as on one server', async (t) => {
  const hub = new InMemoryClusterHub()
  await buildApp(t, { apiKey: API_KEY, cluster: hub.link('node-a') })
  const b = await buildApp(t, { apiKey: API_KEY, cluster: hub.link('node-b') })
  const refused = await b.inject({ method: 'POST', url: '/api/dispatch', headers, payload: { client_id: 'nobody', request: 'x' } })
  t.equal(refused.statusCode, 404)
  t.equal(refused.json().code, 'AIP_ERR_FASTIFY_CLIENT_NOT_CONNECTED')
})

test('POST /api/dispatch answers 429 when the device\'s node has maxDispatchesPerDevice tasks for it', async (t) => {
  const hub = new InMemoryClusterHub()
  const a = await buildApp(t, { apiKey: API_KEY, cluster: hub.link('node-a'), maxDispatchesPerDevice: 1 })
  const b = await buildApp(t, { apiKey: API_KEY, cluster: hub.link('node-b') })
  const device = await injectedDevice(t, a, '/ws', 'dev-a')
  const held = await a.aip.tasks.start('dev-a', 'first')
  // Ended by the app's close: its rejection is expected.
  held.done.catch(() => {})
  await device.next()
  const refused = await b.inject({ method: 'POST', url: '/api/dispatch', headers, payload: { client_id: 'dev-a', request: 'second' } })
  t.equal(refused.statusCode, 429)
  t.equal(refused.json().code, 'AIP_ERR_FASTIFY_TOO_MANY_TASKS')
})
