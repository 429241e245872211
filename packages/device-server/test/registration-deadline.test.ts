import { test } from 'tap'
import { CloseCode } from '@aip/endpoint'
import { Texts } from '../src/internal.js'
import { TestClient, deviceRegister, registeredDevice, startServer } from './helpers/harness.js'

const DEADLINE_MS = 150

/** The client sees its close before the server's socket is gone: waits (bounded) for the server's side. */
async function settled (condition: () => boolean, limitMs = 2000): Promise<boolean> {
  const deadline = Date.now() + limitMs
  while (!condition()) {
    if (Date.now() > deadline) return false
    await new Promise((resolve) => setImmediate(resolve))
  }
  return true
}

test('a connection that sends nothing gets an ERROR naming the deadline, then close 4001', async (t) => {
  const { wsUrl, endpoint } = await startServer(t, { registrationTimeoutMs: DEADLINE_MS })
  const silent = await TestClient.connect(t, wsUrl)
  const opened = Date.now()
  const error = await silent.next()
  t.match(error, { type: 'error', status: 'error', session_id: null, error: Texts.registrationTimeout(DEADLINE_MS) })
  t.equal(error.error, `No REGISTER received within ${DEADLINE_MS} ms`, 'the text names the deadline')
  const closed = await silent.closed
  t.equal(closed.code, CloseCode.RegistrationTimeout, 'closed with 4001')
  t.ok(Date.now() - opened >= DEADLINE_MS - 20, 'not before the deadline')
  t.same(silent.frames, [], 'the ERROR was the only frame')
  t.ok(await settled(() => endpoint.connectionCount === 0), 'the connection is forgotten')
})

test('a client that registers in time is not closed by the deadline', async (t) => {
  const { wsUrl, endpoint } = await startServer(t, { registrationTimeoutMs: DEADLINE_MS })
  const device = await registeredDevice(t, wsUrl, 'punctual')
  // A connection opened after the device registered is closed at its own deadline, later than the device's.
  const later = await TestClient.connect(t, wsUrl)
  t.equal((await later.closed).code, CloseCode.RegistrationTimeout)
  t.match(await device.ask({ type: 'heartbeat', status: 'ok', client_type: 'device', client_id: 'punctual' }), { type: 'heartbeat', status: 'ok' })
  t.ok(endpoint.isConnected('punctual'))
})

test('a slowloris client does not hold up another client that registers normally', async (t) => {
  const { wsUrl, endpoint } = await startServer(t, { registrationTimeoutMs: DEADLINE_MS })
  const slow = await TestClient.connect(t, wsUrl)
  // It starts a fragmented text message and never sends the final fragment.
  slow.ws.send('{"type":"register","status":"ok","client_id":"sl', { fin: false })
  const slowClosed = slow.closed
  const normal = await TestClient.connect(t, wsUrl)
  const started = Date.now()
  const answer = await normal.ask(deviceRegister('normal-dev'))
  t.match(answer, { type: 'heartbeat', status: 'ok' }, 'registered while the slow connection is pending')
  t.ok(Date.now() - started < DEADLINE_MS, 'answered without waiting for the slow connection')
  t.equal(endpoint.connectionCount, 2)

  const closed = await slowClosed
  t.equal(closed.code, CloseCode.RegistrationTimeout, 'the slow connection is closed at its deadline')
  t.match(slow.frames, [{ type: 'error', error: Texts.registrationTimeout(DEADLINE_MS) }])
  t.ok(await settled(() => endpoint.connectionCount === 1), 'only the registered client remains')
  const heartbeat = await normal.ask({ type: 'heartbeat', status: 'ok', client_type: 'device', client_id: 'normal-dev' })
  t.match(heartbeat, { type: 'heartbeat', status: 'ok' }, 'the registered client is untouched')
  t.ok(endpoint.isConnected('normal-dev'))
})

test('many slow connections each time out on their own, the registered one stays', async (t) => {
  const { wsUrl, endpoint } = await startServer(t, { registrationTimeoutMs: DEADLINE_MS })
  const slow = await Promise.all(Array.from({ length: 20 }, async () => await TestClient.connect(t, wsUrl)))
  const device = await registeredDevice(t, wsUrl, 'dev-among-slow')
  const codes = await Promise.all(slow.map(async (client) => (await client.closed).code))
  t.same([...new Set(codes)], [CloseCode.RegistrationTimeout], 'every slow connection got 4001')
  t.ok(await settled(() => endpoint.connectionCount === 1), 'only the registered client remains')
  t.match(await device.ask({ type: 'heartbeat', status: 'ok', client_type: 'device', client_id: 'dev-among-slow' }), { type: 'heartbeat', status: 'ok' })
})
