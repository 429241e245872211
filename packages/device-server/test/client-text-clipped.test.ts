import { test } from 'tap'
import { MAX_ECHO_CHARS, MAX_ID_CHARS } from '../src/internal.js'
import { startServer, TestClient, registeredDevice } from './helpers/harness.js'

test('an ERROR repeats at most MAX_ECHO_CHARS of a client text and no overlong correlation id', async (t) => {
  const server = await startServer(t)
  const device = await registeredDevice(t, server.wsUrl, 'clip')
  const long = 'z'.repeat(50_000)
  device.send({ type: 'error', status: 'error', client_type: 'device', client_id: 'clip', error: long, session_id: long })
  const echoed = await device.next()
  t.equal(echoed.type, 'error')
  t.ok(echoed.error.length < MAX_ECHO_CHARS + 40, `error cut to ${String(echoed.error.length)} characters`)
  t.match(echoed.error, /more characters\)$/)
  t.equal(echoed.session_id, null, 'an id too long to be legitimate is not repeated')
  device.send({ type: 'error', status: 'error', client_type: 'device', client_id: 'clip', error: 'short', session_id: 's1' })
  const short = await device.next()
  t.equal(short.error, 'short', 'short texts are repeated as they were')
  t.equal(short.session_id, 's1')
})

test('ids longer than MAX_ID_CHARS are refused at REGISTER and in a TASK', async (t) => {
  const server = await startServer(t)
  const long = 'i'.repeat(MAX_ID_CHARS + 1)
  const client = await TestClient.connect(t, server.wsUrl)
  client.send({ type: 'register', status: 'ok', client_type: 'device', client_id: long })
  const refused = await client.next()
  t.equal(refused.error, `client_id is longer than ${MAX_ID_CHARS} characters`)
  t.equal((await client.closed).code, 4002)
  const device = await registeredDevice(t, server.wsUrl, 'ids')
  device.send({ type: 'task', status: 'continue', client_type: 'device', client_id: 'ids', session_id: long, request: 'x' })
  t.equal((await device.next()).error, `session_id is longer than ${MAX_ID_CHARS} characters`)
  device.send({ type: 'task', status: 'continue', client_type: 'device', client_id: 'ids', task_name: long, request: 'x' })
  t.equal((await device.next()).error, `task_name is longer than ${MAX_ID_CHARS} characters`)
})
