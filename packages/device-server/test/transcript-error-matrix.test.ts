import { CloseCode } from '@aip/endpoint'
import { test } from 'tap'
import { sameAsReference } from '@aip/test-support'
import { startServer, TestClient } from './helpers/harness.js'
import { transcript, type WireLine } from '@aip/test-support'

// S2: every probe connection of the error matrix replayed in order against our server. Each answer is the
// reference's (same text, connection kept open), or the documented better answer listed below.

const S2 = transcript('s2-error-matrix.jsonl')
const TOKEN = 'matrix-secret'

/** Reference answers that leak pydantic internals (B12): only their kind is compared. */
const PYDANTIC_TEXTS = new Set([24, 26, 28])

/** Where we answer differently, on purpose. */
const BETTER: Record<number, { error: RegExp, close?: number }> = {
  // A malformed or wrong first frame gets an ERROR before the close, never a silent close (B13).
  5: { error: /^The first message must be a REGISTER$/, close: CloseCode.RegistrationRefused },
  6: { error: /^REGISTER requires a non-empty client_id$/, close: CloseCode.RegistrationRefused },
  7: { error: /^Invalid client message: \/status is required$/, close: CloseCode.RegistrationRefused },
  8: { error: /^Frame is not valid JSON/, close: CloseCode.RegistrationRefused },
  // Device info is scoped: an unscoped constellation reads nothing (B11).
  47: { error: /^Not authorized to request device info for this device$/ },
  49: { error: /^Not authorized to request device info for this device$/ }
}

/** How the reference closed after its answer (from connections.json); ours uses 4002 for a refused REGISTER. */
const CLOSED_AFTER = new Set([4, 10])

function probes (): Map<string, WireLine[]> {
  const byConn = new Map<string, WireLine[]>()
  for (const line of S2) byConn.set(line.conn, [...(byConn.get(line.conn) ?? []), line])
  return byConn
}

test('the upgrade without a token is refused with 401, with a wrong token with 403 (reference: 403 for both)', async (t) => {
  const { wsUrl } = await startServer(t, { token: TOKEN })
  t.equal(await TestClient.refusedStatus(wsUrl), 401)
  t.equal(await TestClient.refusedStatus(`${wsUrl}?token=wrong`), 403)
})

test('every probe of the error matrix gets the reference answer or the documented better one', async (t) => {
  const { wsUrl } = await startServer(t, { token: TOKEN })
  const url = `${wsUrl}?token=${TOKEN}`
  let holder: TestClient | undefined
  for (const [conn, lines] of probes()) {
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
        const expected = next.frame as Record<string, unknown>
        if (PYDANTIC_TEXTS.has(next.seq)) {
          t.equal(answer.type, 'error', `${conn} seq ${next.seq}: an ERROR`)
          t.ok(typeof answer.error === 'string' && answer.error.length > 0, `${conn} seq ${next.seq}: with a clear text: ${String(answer.error)}`)
          t.notMatch(answer.error, /pydantic|validation error for/, 'no library internals')
        } else {
          sameAsReference(t, answer, expected, `${conn} seq ${next.seq}`)
        }
        if (CLOSED_AFTER.has(next.seq)) t.equal((await client.closed).code, CloseCode.RegistrationRefused, `${conn}: closed after the refusal`)
        continue
      }
      // The reference sends nothing for this frame: a heartbeat right after must be the next answer.
      const answer = await client.ask({ type: 'heartbeat', status: 'ok', client_type: registered.clientType, client_id: registered.clientId })
      t.same([answer.type, answer.status], ['heartbeat', 'ok'], `${conn} seq ${line.seq}: no answer, connection still open`)
    }
    if (client !== holder) client.ws.close()
  }
  t.ok(holder, 'devA stayed registered through the run')
  const beat = await holder!.ask({ type: 'heartbeat', status: 'ok', client_id: 'devA' })
  t.equal(beat.type, 'heartbeat', 'and still answers')
})
