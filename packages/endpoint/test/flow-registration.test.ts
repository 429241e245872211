import t from 'tap'
import { buildConstellationRegistration, buildDeviceRegistration, buildRegistrationConfirmation, buildServerError, buildHeartbeat } from '@aip/protocol'
import { register, validateRegistration } from '../src/flows/registration.js'
import { keepAlive, linkedProtocols } from './helpers.js'

t.test('a HEARTBEAT ok answer to REGISTER means registered', async (t) => {
  const { client, server } = linkedProtocols()
  t.teardown(() => client.close())
  server.onMessage('register', async () => { await server.send(buildRegistrationConfirmation({ responseId: 'r' })) })
  const answer = await register(client, buildDeviceRegistration({ clientId: 'dev1' }))
  t.equal(answer.response_id, 'r')
})

t.test('an ERROR answer is a coded refusal keeping the server\'s answer', async (t) => {
  const { client, server } = linkedProtocols()
  t.teardown(() => client.close())
  server.onMessage('register', async () => {
    await server.send(buildServerError({ error: "client_id 'dev1' is already registered" }))
    server.close(1000)
  })
  const err = await t.rejects(register(client, buildDeviceRegistration({ clientId: 'dev1' })), {
    code: 'AIP_ERR_ENDPOINT_REGISTRATION_REFUSED', refusal: 'error', reason: "client_id 'dev1' is already registered"
  })
  t.match(err, { answer: { type: 'error', status: 'error', error: "client_id 'dev1' is already registered" } })
})

t.test('a silent close is a refusal, as the reference server closes on a bad REGISTER', async (t) => {
  const { client, server } = linkedProtocols()
  server.onMessage('register', () => { server.close(1000) })
  await t.rejects(register(client, buildDeviceRegistration({ clientId: 'dev1' })), {
    code: 'AIP_ERR_ENDPOINT_REGISTRATION_REFUSED', refusal: 'closed', answer: null
  })
})

t.test('an undecodable answer is a refusal', async (t) => {
  const { client, server, serverTransport } = linkedProtocols()
  t.teardown(() => client.close())
  server.onMessage('register', async () => { await serverTransport.send('garbage') })
  await t.rejects(register(client, buildDeviceRegistration({ clientId: 'dev1' })), {
    code: 'AIP_ERR_ENDPOINT_REGISTRATION_REFUSED', refusal: 'invalid_answer', answer: null
  })
})

t.test('an answer other than HEARTBEAT ok is a refusal', async (t) => {
  const { client, server } = linkedProtocols()
  t.teardown(() => client.close())
  server.onMessage('register', async () => { await server.send({ type: 'heartbeat', status: 'failed' }) })
  await t.rejects(register(client, buildDeviceRegistration({ clientId: 'dev1' })), {
    code: 'AIP_ERR_ENDPOINT_REGISTRATION_REFUSED', refusal: 'unexpected_answer', answer: { type: 'heartbeat', status: 'failed' }
  })
})

t.test('no answer before the deadline rejects with the registration timeout code', async (t) => {
  keepAlive(t)
  const { client } = linkedProtocols()
  t.teardown(() => client.close())
  await t.rejects(register(client, buildDeviceRegistration({ clientId: 'dev1' }), { timeoutMs: 10 }), {
    code: 'AIP_ERR_ENDPOINT_REGISTRATION_TIMEOUT'
  })
  t.equal(client.waiterCount, 0)
})

t.test('an aborted registration rejects with the aborted code', async (t) => {
  const { client } = linkedProtocols()
  t.teardown(() => client.close())
  const controller = new AbortController()
  controller.abort()
  await t.rejects(register(client, buildDeviceRegistration({ clientId: 'dev1' }), { signal: controller.signal }), { code: 'AIP_ERR_ABORTED' })
  const later = new AbortController()
  const pending = register(client, buildDeviceRegistration({ clientId: 'dev1' }), { signal: later.signal })
  later.abort()
  await t.rejects(pending, { code: 'AIP_ERR_ABORTED' })
})

t.test('validateRegistration accepts a REGISTER and returns the claimed identity', async (t) => {
  const device = validateRegistration(buildDeviceRegistration({ clientId: 'dev1', platform: 'linux' }))
  t.match(device, { ok: true, claim: { clientId: 'dev1', clientType: 'device', targetId: null } })
  const constellation = validateRegistration(buildConstellationRegistration({ clientId: 'c@dev1', taskName: 'c', targetId: 'dev1' }))
  t.match(constellation, { ok: true, claim: { clientType: 'constellation', targetId: 'dev1' } })
})

t.test('validateRegistration refuses another first message or an empty client_id, with an ERROR text', async (t) => {
  t.match(validateRegistration(buildHeartbeat({ clientId: 'd', clientType: 'device' })), { ok: false, refusal: 'not_register', error: /must be register/ })
  t.match(validateRegistration({ ...buildDeviceRegistration({ clientId: 'x' }), client_id: '' }), { ok: false, refusal: 'no_client_id', error: /client_id/ })
  t.match(validateRegistration({ ...buildDeviceRegistration({ clientId: 'x' }), client_id: null }), { ok: false, refusal: 'no_client_id' })
  t.match(validateRegistration({ ...buildDeviceRegistration({ clientId: 'x' }), client_id: ' ' }), { ok: true, claim: { clientId: ' ' } }, 'a blank id is an id, as on the reference server')
})
