import { test } from 'tap'
import { replayErrorMatrix } from '@aip/test-support'
import { adapters } from './helpers/adapters.js'
import { buildApp, listen, TestClient, TOKEN } from './helpers/harness.js'

// S2 through the plugin: the handshake refusals, and every probe connection of the error matrix replayed in order
// through each way a client reaches the app. Each answer is the reference's, or the documented better answer of
// @aip/device-server.

test('the upgrade without a token is refused with 401 and with a wrong one with 403, before any WebSocket', async (t) => {
  const app = await buildApp(t, { token: TOKEN })
  const { ws } = await listen(app)
  t.equal(await TestClient.refusedStatus(`${ws}/ws`), 401, 'no token: 401 (the reference: 403)')
  t.equal(await TestClient.refusedStatus(`${ws}/ws?token=wrong`), 403, 'wrong token: 403')
  t.equal(await TestClient.refusedStatus(`${ws}/ws?token=${TOKEN}`, { headers: { origin: 'https://evil.example' } }), 403, 'a browser Origin not allowed: 403')
  await t.rejects(app.injectWS('/ws?token=wrong'), /Unexpected server response: 403/, 'injectWS is refused alike')
  t.equal(app.aip.connectionCount, 0, 'no connection reached the endpoint')
})

// Not through injectWS: its in-memory socket never answers a ping, so the duplicate-registration probe (which
// asks the holder of the id for a pong) would see the holder as dead and let the newcomer take over.
for (const [via, adapter] of Object.entries(adapters).filter(([via]) => via !== 'injectWS')) {
  test(`through ${via}: every probe of the error matrix gets the reference answer or the documented better one`, async (t) => {
    await replayErrorMatrix(t, await adapter(t, {}))
  })
}
