import { test } from 'tap'
import WebSocket from 'ws'
import { TOKEN, buildApp, listen, registeredDevice } from './helpers/harness.js'

// With upgrade: 'direct' the connection limits still apply: a connection over maxConnectionsPerAddress or
// maxConnections is closed before any upgrade is answered.

/** Resolves when the upgrade of `url` fails (the server closed the connection); rejects if it opens. */
async function dropped (url: string): Promise<string> {
  const ws = new WebSocket(url)
  return await new Promise<string>((resolve, reject) => {
    ws.once('open', () => { ws.terminate(); reject(new Error('the upgrade was accepted')) })
    ws.once('unexpected-response', (_request, response) => { ws.terminate(); reject(new Error(`answered ${String(response.statusCode)}`)) })
    ws.once('error', (err) => resolve(err.message))
  })
}

for (const limit of [{ maxConnectionsPerAddress: 2 }, { maxConnections: 2, maxConnectionsPerAddress: 0 }]) {
  test(`with upgrade "direct", ${Object.keys(limit)[0]} 2 closes a third connection`, async (t) => {
    const app = await buildApp(t, { token: TOKEN, upgrade: 'direct', ...limit })
    const { ws } = await listen(app)
    const url = `${ws}/ws?token=${TOKEN}`
    await registeredDevice(t, url, 'limit-1')
    await registeredDevice(t, url, 'limit-2')
    t.match(await dropped(url), /socket hang up|ECONNRESET/, 'the third connection is closed unanswered')
    t.equal(app.aip.connectionCount, 2, 'the two devices are still connected')
  })
}
