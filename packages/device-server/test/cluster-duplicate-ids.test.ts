import { test } from 'tap'
import { CloseCode } from '@aip/endpoint'
import { Texts } from '../src/internal.js'
import { TestClient, deviceRegister, registeredDevice } from './helpers/harness.js'
import { HeldTransport, continuityDevice, nextEvent } from './helpers/continuity.js'
import { testCluster } from './helpers/cluster.js'

test('an id registered with a live connection on node A is refused on node B as a duplicate', async (t) => {
  const cluster = testCluster(t)
  const a = await cluster.node('node-a')
  const b = await cluster.node('node-b')
  await registeredDevice(t, a.wsUrl, 'dev-d')
  const second = await TestClient.connect(t, b.wsUrl)
  t.match(await second.ask(deviceRegister('dev-d')), { type: 'error', error: Texts.duplicateClient('dev-d') })
  t.match(await second.closed, { code: CloseCode.RegistrationRefused })
  t.match((await b.endpoint.listClusterClients()).map((c) => c.nodeId), ['node-a'], 'A still holds it')
})

test('an id whose holder node was lost is taken over on another node', async (t) => {
  const cluster = testCluster(t)
  const a = await cluster.node('node-a')
  const b = await cluster.node('node-b')
  await registeredDevice(t, a.wsUrl, 'dev-e')
  cluster.hub.link('node-a').lost = true // A stops answering: its node lease is gone
  const moved = await registeredDevice(t, b.wsUrl, 'dev-e')
  t.ok(moved, 'registered on B')
  cluster.hub.link('node-a').lost = false
  t.match((await b.endpoint.listClusterClients()).map((c) => [c.clientId, c.nodeId]), [['dev-e', 'node-b']])
})

test('an away client re-registering on another node takes its id over; the old node ends it there', async (t) => {
  const cluster = testCluster(t)
  const a = await cluster.node('node-a', { resumeWindowMs: 60_000 })
  const b = await cluster.node('node-b', { resumeWindowMs: 60_000 })
  const first = await TestClient.connect(t, a.wsUrl)
  t.match(await first.ask(continuityDevice('dev-f')), { type: 'heartbeat', status: 'ok' })
  const away = nextEvent(a.endpoint, 'clientAway')
  first.ws.terminate()
  await away
  const gone = nextEvent(a.endpoint, 'clientDisconnected')
  const second = await TestClient.connect(t, b.wsUrl)
  t.match(await second.ask(continuityDevice('dev-f')), { type: 'heartbeat', status: 'ok' })
  t.match(await gone, { clientId: 'dev-f', code: CloseCode.Replaced, reason: Texts.movedToAnotherNode })
  t.equal(a.endpoint.stats().awayClients, 0, 'A holds nothing for it any more')
  t.equal(a.endpoint.listClients().length, 0)
})

test('a connection on A whose peer no longer answers pings is taken over from B, and A closes it as replaced', async (t) => {
  const cluster = testCluster(t)
  const a = await cluster.node('node-a', { takeoverProbeMs: 50 })
  const b = await cluster.node('node-b', { takeoverProbeMs: 50 })
  const frozen = new HeldTransport() // never answers a ping
  a.endpoint.handleTransport(frozen)
  frozen.receive(deviceRegister('dev-g'))
  t.match(await frozen.next(), { type: 'heartbeat', status: 'ok' })
  const probed = nextEvent(a.endpoint, 'clientDisconnected')
  const second = await TestClient.connect(t, b.wsUrl)
  t.match(await second.ask(deviceRegister('dev-g')), { type: 'heartbeat', status: 'ok' }, 'B probed A, found the socket dead, took the id')
  t.match(await probed, { clientId: 'dev-g', code: CloseCode.Replaced })
  t.match(frozen.closing, { code: CloseCode.Replaced }, 'A closed the old connection as replaced')
  frozen.release()
  t.match((await b.endpoint.listClusterClients()).map((c) => [c.clientId, c.nodeId]), [['dev-g', 'node-b']])
})
