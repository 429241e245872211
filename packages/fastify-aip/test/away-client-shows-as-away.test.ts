import { test } from 'tap'
import { nextEvent, registered } from '@aip/test-support'
import type { DashboardSnapshot } from '../src/index.js'
import { API_KEY, buildApp, deviceRegister, injectClient } from './helpers/harness.js'

const headers = { 'x-api-key': API_KEY }

test('a device away inside its resume window is listed as away, not online, by the API, the dashboard and /metrics', async (t) => {
  const app = await buildApp(t, { apiKey: API_KEY, dashboard: true, metrics: true, resumeWindowMs: 60_000 })
  const device = await registered(await injectClient(t, app, '/ws'), deviceRegister('dev-away', { metadata: { platform: 'linux', aip_capabilities: ['resume'] } }))
  const online = (await app.inject({ url: '/api/clients', headers })).json()
  t.same(online.online_clients, ['dev-away'])
  t.match(online.clients, [{ client_id: 'dev-away', state: 'online' }])

  const away = nextEvent(app.aip, 'clientAway')
  device.ws.terminate()
  await away

  const clients = (await app.inject({ url: '/api/clients', headers })).json()
  t.same(clients.online_clients, [], 'no live connection: not online')
  t.match(clients.clients, [{ client_id: 'dev-away', client_type: 'device', state: 'away' }], 'still known, as away')
  t.same((await app.inject({ url: '/api/health', headers })).json(), { status: 'healthy', online_clients: [] })
  const state = (await app.inject({ url: '/aip/state', headers })).json<DashboardSnapshot>()
  t.match(state.devices, [{ id: 'dev-away', state: 'away' }])
  const metrics = (await app.inject({ url: '/metrics', headers })).body
  t.match(metrics, /^aip_away_clients 1$/m)

  const back = nextEvent(app.aip, 'clientResumed')
  await registered(await injectClient(t, app, '/ws'), deviceRegister('dev-away', { metadata: { platform: 'linux', aip_capabilities: ['resume'] } }))
  await back
  const again = (await app.inject({ url: '/api/clients', headers })).json()
  t.same(again.online_clients, ['dev-away'], 'online again once it resumed')
  t.match(again.clients, [{ client_id: 'dev-away', state: 'online' }])
  t.match((await app.inject({ url: '/metrics', headers })).body, /^aip_away_clients 0$/m)
})
