import WebSocket from 'ws'
import { test } from 'tap'
import { API_KEY, TOKEN, TestClient, buildApp, listen } from './helpers/harness.js'

// `authFailureLimit: false`: failures are refused one by one, never counted; the right credential always works.

test('with authFailureLimit: false, no address is ever refused for failing', async (t) => {
  const app = await buildApp(t, { token: TOKEN, apiKey: API_KEY, dashboard: true, metrics: true, authFailureLimit: false })
  const { ws } = await listen(app)
  for (let i = 0; i < 30; i++) {
    t.equal((await app.inject({ url: '/api/health', headers: { 'x-api-key': `guess-${i}` } })).statusCode, 401)
    t.equal((await app.inject({ method: 'POST', url: '/aip/login', body: { key: `guess-${i}` } })).statusCode, 401)
    t.equal((await app.inject({ url: '/metrics', headers: { 'x-api-key': `guess-${i}` } })).statusCode, 401)
  }
  for (let i = 0; i < 30; i++) t.equal(await TestClient.refusedStatus(`${ws}/ws?token=guess-${i}`), 403)
  t.equal((await app.inject({ url: '/api/health', headers: { 'x-api-key': API_KEY } })).statusCode, 200)
  t.equal((await app.inject({ method: 'POST', url: '/aip/login', body: { key: API_KEY } })).statusCode, 200)
  t.equal((await app.inject({ url: '/metrics', headers: { 'x-api-key': API_KEY } })).statusCode, 200)
  const socket = new WebSocket(`${ws}/ws?token=${TOKEN}`)
  t.teardown(() => socket.terminate())
  await new Promise<void>((resolve, reject) => { socket.once('open', resolve); socket.once('error', reject) })
  t.pass('the upgrade with the right token is accepted')
})
