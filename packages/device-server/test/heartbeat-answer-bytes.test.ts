import { test } from 'tap'
import { buildRegistrationConfirmation, buildServerHeartbeat, encodeServerMessage } from '@aip/protocol'
import { heartbeatText } from '../src/heartbeat.js'
import { deviceRegister, registered, startServer, TestClient } from './helpers/harness.js'

test('the HEARTBEAT ok written from its template is the encoder\'s text, byte for byte', async (t) => {
  // Timestamps with and without a fraction (Python leaves a zero fraction out), given ids and fresh uuids. Any field
  // the encoder adds, drops or moves makes the texts differ.
  const samples = [
    buildServerHeartbeat(),
    buildRegistrationConfirmation(),
    buildServerHeartbeat({ timestamp: '2026-11-30T23:59:06+00:00' }),
    buildServerHeartbeat({ timestamp: '2026-01-01T00:00:00.000001+00:00', responseId: '00000000-0000-4000-8000-000000000000' }),
    buildRegistrationConfirmation({ timestamp: '1999-12-31T23:59:59.999999+00:00', responseId: 'f47ac10b-58cc-4372-a567-0e02b2c3d479' }),
    ...Array.from({ length: 200 }, () => buildServerHeartbeat())
  ]
  for (const message of samples) {
    const expected = encodeServerMessage(message)
    if (heartbeatText(message) !== expected) {
      t.equal(heartbeatText(message), expected)
      return
    }
  }
  t.pass(`${samples.length} answers equal`)
})

test('on the wire, the registration answer and the HEARTBEAT answer are in the reference form', async (t) => {
  const { wsUrl } = await startServer(t)
  const client = await TestClient.connect(t, wsUrl)
  const texts: string[] = []
  client.ws.on('message', (data) => { texts.push(data.toString()) })
  await registered(client, deviceRegister('hb-bytes'))
  client.send({ type: 'heartbeat', status: 'ok', client_type: 'device', client_id: 'hb-bytes' })
  const answer = await client.next()
  t.match(answer, { type: 'heartbeat', status: 'ok', session_id: null })
  t.equal(texts.length, 2)
  for (const text of texts) t.equal(text, encodeServerMessage(JSON.parse(text)), 'every field, in order, as the encoder writes it')
})
