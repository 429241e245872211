import { test } from 'tap'
import { CLIENT_MESSAGE_FIELDS, DEVICE_SYSTEM_INFO_FIELDS } from '@aip/protocol'
import { client, nextEvent, serverFrame, startScripted, startServer, transcript } from './helpers/net.js'

const referenceRegister = transcript('s1-task-roundtrip.jsonl').find((line) => line.frame.type === 'register' && line.conn === 'device:dev1')?.frame as Record<string, any>

test('registers with our server: states, events, status and the server record', async (t) => {
  const server = await startServer(t)
  const device = client(t, { wsUrl: server.wsUrl, clientId: 'dev1', platform: 'windows' })
  const kinds: string[] = []
  device.on('state', ({ state }) => kinds.push(state.kind))
  t.equal(device.status.kind, 'idle')
  const registered = nextEvent(device, 'registered')
  await device.start()
  t.equal(device.status.kind, 'registered')
  t.type((await registered).connectedAt, 'number')
  t.ok(device.isConnected())
  t.same(kinds, ['connecting', 'registered'])
  t.ok(server.endpoint.isConnected('dev1'), 'the server lists the device')
  t.equal(device.start(), device.start(), 'start() twice returns one promise')
  await device.stop()
  t.equal(device.status.kind, 'stopped')
  t.same(device.status, { kind: 'stopped', reason: 'stopped' })
  const never = client(t, { wsUrl: server.wsUrl, clientId: 'dev2' })
  await never.stop()
  await t.rejects(never.start(), { code: 'AIP_ERR_DEVICE_STOPPED' }, 'a stopped client does not start')
})

test('the REGISTER has the 14 fields in reference order and a reference-shaped system_info', async (t) => {
  const scripted = await startScripted(t)
  // The reference REGISTER; the default one adds only metadata.aip_capabilities (continuity-registration.test.ts).
  const device = client(t, { wsUrl: scripted.wsUrl, clientId: 'dev1', platform: 'windows', customMetadata: { site: 'lab' }, continuity: false })
  const started = device.start()
  const peer = await scripted.connection()
  const register = await peer.next()
  peer.send(serverFrame({ type: 'heartbeat', status: 'ok' }))
  await started
  t.same(Object.keys(register), Object.keys(referenceRegister), 'same key list as the Python device REGISTER')
  t.same(Object.keys(register), [...CLIENT_MESSAGE_FIELDS])
  t.equal(register.type, 'register')
  t.equal(register.status, 'ok')
  t.equal(register.client_type, 'device')
  t.equal(register.client_id, 'dev1')
  t.same(Object.keys(register.metadata), Object.keys(referenceRegister.metadata), 'metadata keys: system_info, registration_time, platform')
  t.equal(register.metadata.platform, 'windows')
  t.match(register.metadata.registration_time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$/)
  const info = register.metadata.system_info as Record<string, unknown>
  const reference = referenceRegister.metadata.system_info as Record<string, unknown>
  t.same(Object.keys(info), Object.keys(reference), 'system_info keys in reference order')
  t.same(Object.keys(info), [...DEVICE_SYSTEM_INFO_FIELDS])
  for (const key of Object.keys(reference)) {
    if (key === 'ip_address' && info[key] === null) continue
    t.equal(typeof info[key], typeof reference[key], `${key} has the reference type`)
  }
  t.equal(info.device_id, 'dev1')
  t.ok(Number.isInteger(info.cpu_count))
  t.equal(Math.round((info.memory_total_gb as number) * 100) / 100, info.memory_total_gb, 'memory rounded to 2 decimals')
  t.equal(info.schema_version, '1.0')
  t.same(info.custom_metadata, { site: 'lab' })
})

test('a refused token stops with a ConnectionError carrying the HTTP status', async (t) => {
  const server = await startServer(t, { token: 'secret' })
  const device = client(t, { wsUrl: `${server.wsUrl}?token=wrong`, clientId: 'dev1' })
  const stopped = nextEvent(device, 'stopped')
  const err = await device.start().then(() => null, (e: unknown) => e as Record<string, any>)
  t.ok(err !== null, 'start() rejects')
  t.equal(err?.code, 'AIP_ERR_DEVICE_CONNECTION')
  t.ok(err?.httpStatus === 401 || err?.httpStatus === 403, `httpStatus ${String(err?.httpStatus)}`)
  t.notMatch(String(err?.message), /wrong/, 'the token never appears in the message')
  t.equal(err?.cause?.code, 'AIP_ERR_ENDPOINT_CONNECT')
  t.equal(err?.failure, 'credentials', 'the error names why retrying stopped')
  const state = await stopped
  t.same([state.reason, state.failure], ['fatal', 'credentials'], 'so does the state event')
  t.equal(device.status.kind, 'stopped')
})

test('a duplicate client id on the first start is fatal, with the server text', async (t) => {
  const server = await startServer(t, { takeoverProbeMs: 200 })
  const first = client(t, { wsUrl: server.wsUrl, clientId: 'dup' })
  await first.start()
  const second = client(t, { wsUrl: server.wsUrl, clientId: 'dup' })
  const err = await second.start().then(() => null, (e: unknown) => e as Record<string, any>)
  t.equal(err?.code, 'AIP_ERR_DEVICE_CONNECTION')
  t.equal(err?.cause?.code, 'AIP_ERR_DEVICE_REGISTRATION_REFUSED')
  t.match(err?.message, /client_id 'dup' is already registered/)
  t.equal(err?.failure, 'identity-conflict')
  t.ok(first.isConnected(), 'the live device keeps its id')
})

test('no answer to REGISTER: a registration timeout, retried until stop()', async (t) => {
  const scripted = await startScripted(t)
  const device = client(t, { wsUrl: scripted.wsUrl, clientId: 'dev1', timeoutMs: 100, reconnectionStrategy: undefined, maxRetries: 1 })
  const reconnecting = nextEvent(device, 'reconnecting')
  const started = device.start()
  const state = await reconnecting
  t.equal(state.cause.kind, 'registration')
  t.match(state.cause.message, /No answer to the registration within 100 ms/)
  const err = await started.then(() => null, (e: unknown) => e as Record<string, any>)
  t.equal(err?.code, 'AIP_ERR_DEVICE_CONNECTION', 'maxRetries: 1 gives up after one more attempt')
  t.equal(err?.failure, 'registration-timeout')
  t.equal(device.status.kind === 'stopped' && device.status.reason, 'exhausted')
})
