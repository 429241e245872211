import { test } from 'tap'
import { API_KEY, buildApp, listen, logCapture, registeredDevice, TestClient, TOKEN } from './helpers/harness.js'

// The plugin logs through the app's pino logger, object first, with ids, and never a token or an API key.

test('logs carry the plugin name and the ids, never the token nor the API key', async (t) => {
  const log = logCapture()
  const app = await buildApp(t, { token: TOKEN, apiKey: API_KEY }, { logger: { level: 'trace', stream: log.stream } })
  const { ws } = await listen(app)
  t.equal(await TestClient.refusedStatus(`${ws}/ws?token=wrong-${TOKEN}`), 403)
  const device = await registeredDevice(t, `${ws}/ws?token=${TOKEN}`, 'log-dev')
  t.ok(device)
  await app.inject({ method: 'GET', url: '/api/clients', headers: { 'x-api-key': API_KEY } })
  await app.inject({ method: 'GET', url: '/api/clients', headers: { 'x-api-key': `bad-${API_KEY}` } })
  await app.inject({ method: 'POST', url: '/api/dispatch', headers: { 'x-api-key': API_KEY }, body: { client_id: 'log-dev', request: 'x' } })
  await app.close()

  const text = log.text()
  t.notMatch(text, TOKEN, 'the WebSocket token is never logged')
  t.notMatch(text, API_KEY, 'the API key is never logged')
  t.match(text, 'token=[redacted]', 'the WebSocket URL is logged with its token redacted')
  const lines = log.lines
  t.ok(lines.some((l) => l.plugin === 'fastify-aip' && l.clientId === 'log-dev' && l.msg === 'client registered'), 'registration logged with the client id')
  t.ok(lines.some((l) => l.plugin === 'fastify-aip' && l.msg === 'websocket upgrade refused' && l.status === 403), 'refusal logged with its status')
  t.ok(lines.some((l) => l.msg === 'task dispatched over HTTP' && l.deviceId === 'log-dev' && typeof l.sessionId === 'string'), 'HTTP dispatch logged with device and session ids')
})
