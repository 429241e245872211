import { test } from 'tap'
import { replayErrorMatrix } from '@aip/test-support'
import { adapters } from './helpers/adapters.js'
import { startServer, TestClient } from './helpers/harness.js'

// S2: every probe connection of the error matrix replayed in order against our server, through each adapter.
// Each answer is the reference's (same text, connection kept open), or the documented better answer.

const TOKEN = 'matrix-secret'

test('the upgrade without a token is refused with 401, with a wrong token with 403 (reference: 403 for both)', async (t) => {
  const { wsUrl } = await startServer(t, { token: TOKEN })
  t.equal(await TestClient.refusedStatus(wsUrl), 401)
  t.equal(await TestClient.refusedStatus(`${wsUrl}?token=wrong`), 403)
})

for (const [name, adapter] of Object.entries(adapters)) {
  test(`through ${name}: every probe of the error matrix gets the reference answer or the documented better one`, async (t) => {
    await replayErrorMatrix(t, await adapter(t, {}))
  })
}
