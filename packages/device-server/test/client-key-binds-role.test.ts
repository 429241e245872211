import { test } from 'tap'
import { CloseCode } from '@aip/endpoint'
import { Texts } from '../src/internal.js'
import { startServer, TestClient, constellationRegister, deviceRegister, registeredDevice } from './helpers/harness.js'

const TOKEN = 'shared'
const keys = {
  dev1: 'dev1-key',
  'galaxy@dev1': { key: 'galaxy-key', clientType: 'constellation' as const, targets: ['dev1'] },
  'any@x': { key: 'any-key', clientType: 'constellation' as const, targets: ['*'] }
}

test('a device key registers only as that device, never as a constellation', async (t) => {
  const { wsUrl, endpoint } = await startServer(t, { token: TOKEN, clientKeys: keys })
  const asConstellation = await TestClient.connect(t, `${wsUrl}?token=dev1-key`)
  t.match(await asConstellation.ask(constellationRegister('dev1', null)), { type: 'error', error: Texts.clientTypeNotAllowed })
  t.equal((await asConstellation.closed).code, CloseCode.RegistrationRefused)
  const owner = await TestClient.connect(t, `${wsUrl}?token=dev1-key`)
  t.match(await owner.ask(deviceRegister('dev1')), { type: 'heartbeat', status: 'ok' })
  t.ok(endpoint.isConnected('dev1'))
})

test('a constellation key registers only scoped to one of its targets', async (t) => {
  const { wsUrl } = await startServer(t, { token: TOKEN, clientKeys: keys })
  await registeredDevice(t, `${wsUrl}?token=${TOKEN}`, 'dev2')
  const device = await TestClient.connect(t, `${wsUrl}?token=dev1-key`)
  await device.ask(deviceRegister('dev1'))
  const unscoped = await TestClient.connect(t, `${wsUrl}?token=galaxy-key`)
  t.match(await unscoped.ask(constellationRegister('galaxy@dev1', null)), { type: 'error', error: Texts.targetNotAllowed }, 'unscoped')
  const other = await TestClient.connect(t, `${wsUrl}?token=galaxy-key`)
  t.match(await other.ask(constellationRegister('galaxy@dev1', 'dev2')), { type: 'error', error: Texts.targetNotAllowed }, 'another device')
  const asDevice = await TestClient.connect(t, `${wsUrl}?token=galaxy-key`)
  t.match(await asDevice.ask(deviceRegister('galaxy@dev1')), { type: 'error', error: Texts.clientTypeNotAllowed }, 'as a device')
  const scoped = await TestClient.connect(t, `${wsUrl}?token=galaxy-key`)
  t.match(await scoped.ask(constellationRegister('galaxy@dev1', 'dev1')), { type: 'heartbeat', status: 'ok' }, 'its own target')
  const wildcard = await TestClient.connect(t, `${wsUrl}?token=any-key`)
  t.match(await wildcard.ask(constellationRegister('any@x', null)), { type: 'heartbeat', status: 'ok' }, "['*'] allows an unscoped constellation")
})

test('an id with its own key is refused with the shared token, and its owner is not locked out', async (t) => {
  const { wsUrl, endpoint } = await startServer(t, { token: TOKEN, clientKeys: keys })
  const squatter = await TestClient.connect(t, `${wsUrl}?token=${TOKEN}`)
  t.match(await squatter.ask(deviceRegister('dev1')), { type: 'error', error: Texts.clientIdNeedsOwnKey })
  t.equal((await squatter.closed).code, CloseCode.RegistrationRefused)
  t.notOk(endpoint.isConnected('dev1'))
  const owner = await TestClient.connect(t, `${wsUrl}?token=dev1-key`)
  t.match(await owner.ask(deviceRegister('dev1')), { type: 'heartbeat', status: 'ok' })
})

test('connections handed over in process, without a request, are not asked for a key', async (t) => {
  const { endpoint } = await startServer(t, { token: TOKEN, clientKeys: keys })
  const { createLinkedTransports } = await import('@aip/endpoint')
  const [client, server] = createLinkedTransports()
  const answer = new Promise<string>((resolve) => client.on('message', (data) => resolve(String(data))))
  endpoint.handleTransport(server)
  await client.send(JSON.stringify(deviceRegister('dev1')))
  t.match(JSON.parse(await answer), { type: 'heartbeat', status: 'ok' })
  client.close()
})
