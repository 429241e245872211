import { test } from 'tap'
import { Texts } from '../src/internal.js'
import { TestClient, registeredConstellation, startServer, until } from './helpers/harness.js'
import { continuityConstellation, continuityDevice, nextEvent, stepsAgent, task } from './helpers/continuity.js'

test('a device granted resume that closes normally (1000) left on purpose: no window, its task fails at once', async (t) => {
  const { wsUrl, endpoint } = await startServer(t, { agent: stepsAgent(1), resumeWindowMs: 60_000 })
  let away = 0
  t.teardown(endpoint.on('clientAway', () => { away++ }))
  const device = await TestClient.connect(t, wsUrl)
  await device.ask(continuityDevice('dev-l'))
  const galaxy = await registeredConstellation(t, wsUrl, 'g-l', 'dev-l')
  await galaxy.ask(task('g-l', 'dev-l', 'l@1'))
  await until(device, (f) => f.type === 'command')
  const gone = nextEvent(endpoint, 'clientDisconnected')
  device.ws.close(1000, 'bye')
  t.match(await gone, { clientId: 'dev-l', code: 1000 })
  t.match((await until(galaxy, (f) => f.type === 'task_end')).frame, { status: 'failed', error: Texts.deviceDisconnected })
  t.equal(away, 0, 'never away')
  t.equal(endpoint.stats().awayClients, 0)
})

test('a constellation granted resume that closes normally leaves at once: its task is cancelled as today', async (t) => {
  const { wsUrl, endpoint } = await startServer(t, { agent: stepsAgent(1), resumeWindowMs: 60_000 })
  const device = await TestClient.connect(t, wsUrl)
  await device.ask(continuityDevice('dev-l2'))
  const galaxy = await TestClient.connect(t, wsUrl)
  await galaxy.ask(continuityConstellation('g-l2', 'dev-l2'))
  await galaxy.ask(task('g-l2', 'dev-l2', 'l2@1'))
  await until(device, (f) => f.type === 'command')
  galaxy.ws.close(1000)
  t.match((await until(device, (f) => f.type === 'task_end')).frame, { status: 'failed', error: Texts.requesterDisconnected })
  t.equal(endpoint.sessionCount, 0)
})

test('with a resume window of 0, a client that asked for resume is cancelled at its first drop, as the reference does', async (t) => {
  const { wsUrl, endpoint } = await startServer(t, { agent: stepsAgent(1), resumeWindowMs: 0 })
  const device = await TestClient.connect(t, wsUrl)
  await device.ask(continuityDevice('dev-l3'))
  const galaxy = await registeredConstellation(t, wsUrl, 'g-l3', 'dev-l3')
  await galaxy.ask(task('g-l3', 'dev-l3', 'l3@1'))
  await until(device, (f) => f.type === 'command')
  device.ws.terminate()
  t.match((await until(galaxy, (f) => f.type === 'task_end')).frame, { status: 'failed', error: Texts.deviceDisconnected })
  t.equal(endpoint.stats().awayClients, 0)
})
