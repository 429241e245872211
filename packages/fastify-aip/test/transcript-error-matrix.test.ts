import { test } from 'tap'
import { sameAsReference } from '@aip/test-support'
import { buildApp, listen, TestClient, TOKEN } from './helpers/harness.js'
import { transcript, type WireLine } from '@aip/test-support'

// S2 through the plugin: the handshake refusals and every probe connection of the error matrix, replayed in
// order. Each answer is the reference's, or the documented better answer of @aip/device-server.

const S2 = transcript('s2-error-matrix.jsonl')

/** Reference answers that leak pydantic internals (B12): only their kind is compared. */
const PYDANTIC_TEXTS = new Set([24, 26, 28])

/** Where the endpoint answers differently, on purpose (B13: an ERROR before the close; B11: scoped device info). */
const BETTER: Record<number, { error: RegExp, close?: number }> = {
  5: { error: /^The first message must be a REGISTER$/, close: 4002 },
  6: { error: /^REGISTER requires a non-empty client_id$/, close: 4002 },
  7: { error: /^Invalid client message: \/status is required$/, close: 4002 },
  8: { error: /^Frame is not valid JSON/, close: 4002 },
  47: { error: /^Not authorized to request device info for this device$/ },
  49: { error: /^Not authorized to request device info for this device$/ }
}

/** The reference closed after these answers; the endpoint closes with 4002 after a refused REGISTER. */
const CLOSED_AFTER = new Set([4, 10])

test('the upgrade without a token is refused with 401 and with a wrong one with 403, before any WebSocket', async (t) => {
  const app = await buildApp(t, { token: TOKEN })
  const { ws } = await listen(app)
  t.equal(await TestClient.refusedStatus(`${ws}/ws`), 401, 'no token: 401 (the reference: 403)')
  t.equal(await TestClient.refusedStatus(`${ws}/ws?token=wrong`), 403, 'wrong token: 403')
  t.equal(await TestClient.refusedStatus(`${ws}/ws?token=${TOKEN}`, { headers: { origin: 'https://evil.example' } }), 403, 'a browser Origin not allowed: 403')
  await t.rejects(app.injectWS('/ws?token=wrong'), /Unexpected server response: 403/, 'injectWS is refused alike')
  t.equal(app.aip.connectionCount, 0, 'no connection reached the endpoint')
})

test('every probe of the error matrix gets the reference answer or the documented better one', async (t) => {
  const app = await buildApp(t, { token: TOKEN })
  const { ws } = await listen(app)
  const url = `${ws}/ws?token=${TOKEN}`
  const byConn = new Map<string, WireLine[]>()
  for (const line of S2) byConn.set(line.conn, [...(byConn.get(line.conn) ?? []), line])
  let holder: TestClient | undefined
  for (const [conn, lines] of byConn) {
    const client = await TestClient.connect(t, url)
    if (conn === 'raw:probe3') holder = client
    const registered = { clientId: '', clientType: 'device' }
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i] as WireLine
      if (line.dir !== 'client->server') continue
      const frame = line.frame as Record<string, unknown>
      if (typeof frame === 'object' && frame.type === 'register' && i === 0) {
        registered.clientId = String(frame.client_id)
        registered.clientType = String(frame.client_type ?? 'device')
      }
      client.send(line.frame)
      const better = BETTER[line.seq]
      const next = lines[i + 1]
      if (better !== undefined) {
        const answer = await client.next()
        t.equal(answer.type, 'error', `${conn} seq ${line.seq}: an ERROR`)
        t.match(answer.error, better.error, `${conn} seq ${line.seq}: ${String(better.error)}`)
        if (better.close !== undefined) t.equal((await client.closed).code, better.close, `${conn}: then a close`)
        continue
      }
      if (next?.dir === 'server->client') {
        const answer = await client.next()
        if (PYDANTIC_TEXTS.has(next.seq)) {
          t.equal(answer.type, 'error', `${conn} seq ${next.seq}: an ERROR`)
          t.notMatch(answer.error, /pydantic|validation error for/, `${conn} seq ${next.seq}: a clear text`)
        } else {
          sameAsReference(t, answer, next.frame as Record<string, unknown>, `${conn} seq ${next.seq}`)
        }
        if (CLOSED_AFTER.has(next.seq)) t.equal((await client.closed).code, 4002, `${conn}: closed after the refusal`)
        continue
      }
      // The reference sends nothing for this frame: a heartbeat right after must be the next answer.
      const answer = await client.ask({ type: 'heartbeat', status: 'ok', client_type: registered.clientType, client_id: registered.clientId })
      t.same([answer.type, answer.status], ['heartbeat', 'ok'], `${conn} seq ${line.seq}: no answer, connection still open`)
    }
    if (client !== holder) client.ws.close()
  }
  t.ok(holder, 'devA stayed registered through the run')
  t.same(app.aip.listClients().map((c) => c.clientId).includes('devA'), true, 'and is listed by the decorator')
})
