import { test } from 'tap'
import { Texts } from '../src/internal.js'
import { TestClient, deviceRegister, registeredConstellation, registeredDevice, startServer, until } from './helpers/harness.js'
import { continuityDevice, dropConnection, stepsAgent, task } from './helpers/continuity.js'

test('an away id registered again without asking for resume: the held tasks end first, then it registers afresh', async (t) => {
  const { wsUrl, endpoint } = await startServer(t, { agent: stepsAgent(1), resumeWindowMs: 60_000 })
  const events: string[] = []
  t.teardown(endpoint.on('clientAway', (e) => events.push(`away ${e.clientId}`)))
  t.teardown(endpoint.on('clientDisconnected', (e) => events.push(`disconnected ${e.clientId}`)))
  t.teardown(endpoint.on('clientRegistered', (e) => events.push(`registered ${e.clientId}`)))
  t.teardown(endpoint.on('clientResumed', (e) => events.push(`resumed ${e.clientId}`)))
  const first = await TestClient.connect(t, wsUrl)
  await first.ask(continuityDevice('dev-x'))
  const galaxy = await registeredConstellation(t, wsUrl, 'g-x', 'dev-x')
  await galaxy.ask(task('g-x', 'dev-x', 'x@1'))
  await until(first, (f) => f.type === 'command')
  await dropConnection(endpoint, first)

  const plain = await TestClient.connect(t, wsUrl)
  const answer = await plain.ask(deviceRegister('dev-x'))
  t.match(answer, { type: 'heartbeat', status: 'ok' })
  t.notOk('aip' in answer, 'no grant: it asked for none')
  t.match((await until(galaxy, (f) => f.type === 'task_end')).frame, { status: 'failed', error: Texts.deviceNotResumed(60_000) })
  t.same(plain.frames, [], 'no COMMAND is sent again to a client that did not resume')
  t.same(events, ['registered dev-x', 'registered g-x', 'away dev-x', 'disconnected dev-x', 'registered dev-x'])
  t.equal(endpoint.clientActivity('dev-x')?.epoch, 1, 'a new epoch count: the id was gone')
})

test('cancelSession withdraws a dispatch the device has not taken up', async (t) => {
  const { wsUrl, endpoint } = await startServer(t)
  const device = await registeredDevice(t, wsUrl, 'dev-y')
  const dispatched = await endpoint.dispatch('dev-y', 'do it')
  await until(device, (f) => f.type === 'task')
  t.ok(endpoint.cancelSession(dispatched.sessionId, 'cancelled'))
  await t.rejects(dispatched.done, { code: 'AIP_ERR_SERVER_SESSION_CANCELLED', reason: 'cancelled' })
  t.same(endpoint.listDispatches(), [])
  t.notOk(endpoint.cancelSession(dispatched.sessionId), 'nothing left to cancel')
})
