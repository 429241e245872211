import { test } from 'tap'
import { CloseCode, createLinkedTransports } from '@aip/endpoint'
import { Texts } from '../src/internal.js'
import { startServer, TestClient, deviceRegister } from './helpers/harness.js'

test('an id registered with its key is taken over only with that key, once the old socket is dead', async (t) => {
  const { wsUrl, endpoint } = await startServer(t, { token: 'shared', clientKeys: { dev1: 'k1' }, takeoverProbeMs: 100 })
  const stale = await TestClient.connect(t, `${wsUrl}?token=k1`, { autoPong: false })
  t.match(await stale.ask(deviceRegister('dev1')), { type: 'heartbeat', status: 'ok' })
  const [client, server] = createLinkedTransports()
  const closed = new Promise<number>((resolve) => client.on('close', (info) => resolve(info.code)))
  endpoint.handleTransport(server)
  await client.send(JSON.stringify(deviceRegister('dev1')))
  t.equal(await closed, CloseCode.RegistrationRefused, 'an in-process connection without the key is refused')
  const owner = await TestClient.connect(t, `${wsUrl}?token=k1`)
  t.match(await owner.ask(deviceRegister('dev1')), { type: 'heartbeat', status: 'ok' }, 'the key holder takes over')
  t.equal((await stale.closed).code, CloseCode.Replaced)
})

test('a device that answers no ping but keeps sending frames is alive: no takeover', async (t) => {
  const { wsUrl, endpoint } = await startServer(t, { takeoverProbeMs: 300 })
  const busy = await TestClient.connect(t, wsUrl, { autoPong: false })
  t.match(await busy.ask(deviceRegister('dev2')), { type: 'heartbeat', status: 'ok' })
  const beat = setInterval(() => busy.send({ type: 'heartbeat', status: 'ok', client_type: 'device', client_id: 'dev2' }), 50)
  t.teardown(() => clearInterval(beat))
  const intruder = await TestClient.connect(t, wsUrl)
  t.match(await intruder.ask(deviceRegister('dev2')), { type: 'error', error: Texts.duplicateClient('dev2') })
  clearInterval(beat)
  t.ok(endpoint.isConnected('dev2'))
})
