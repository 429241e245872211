import { test } from 'tap'
import { Texts } from '../src/internal.js'
import { TestClient, registeredConstellation, registeredDevice, until } from './helpers/harness.js'
import { continuityConstellation } from './helpers/continuity.js'
import { taskFrame, testCluster } from './helpers/cluster.js'

test('a TASK for a device on another node gets the checks of its own node first, with the TASK\'s ids', async (t) => {
  const cluster = testCluster(t)
  const a = await cluster.node('node-a', { maxRequestBytes: 64 })
  const b = await cluster.node('node-b', { maxRequestBytes: 64 })
  await registeredDevice(t, a.wsUrl, 'dev-1')
  await registeredDevice(t, a.wsUrl, 'dev-2')
  await registeredConstellation(t, a.wsUrl, 'other-galaxy', null)
  const scoped = await registeredConstellation(t, b.wsUrl, 'scoped', 'dev-1')
  t.match(await scoped.ask(taskFrame('scoped', 'dev-2', 'k@1')), { type: 'error', error: Texts.taskNotAuthorized, session_id: 'k@1', response_id: 'r-k@1' }, 'out of its scope')
  const galaxy = await registeredConstellation(t, b.wsUrl, 'galaxy', null)
  t.match(await galaxy.ask(taskFrame('galaxy', 'dev-1', 'k@2', { request: '' })), { type: 'error', error: Texts.taskNeedsRequest })
  t.match(await galaxy.ask(taskFrame('galaxy', 'dev-1', 'k@3', { request: 'x'.repeat(65) })), { type: 'error', error: Texts.requestTooLong(64) })
  t.match(await galaxy.ask(taskFrame('galaxy', 'dev-1', 's'.repeat(300))), { type: 'error', error: Texts.idTooLong('session_id') })
  t.match(await galaxy.ask(taskFrame('galaxy', 'dev-1', 'k@4', { task_name: 'n'.repeat(300) })), { type: 'error', error: Texts.idTooLong('task_name') })
  t.match(await galaxy.ask(taskFrame('galaxy', 'other-galaxy', 'k@5')), { type: 'error', error: Texts.targetNotDevice }, 'a constellation on another node is no target')
  t.match(await galaxy.ask(taskFrame('galaxy', 'dev-1', 'k@6')), { type: 'heartbeat', session_id: 'k@6' })
  const thief = await registeredConstellation(t, b.wsUrl, 'thief', null)
  t.match(await thief.ask(taskFrame('thief', 'dev-1', 'k@6')), { type: 'error', error: Texts.sessionOwned('k@6') }, 'a session id forwarded by another client')
  t.match(await galaxy.ask(taskFrame('galaxy', 'dev-1', 'k@6')), { type: 'error', error: Texts.sessionRunning('k@6') }, 'sent again, not granted resume: A says it runs')
  const cancelled = await thief.ask({ type: 'task_cancel', status: 'continue', client_type: 'constellation', client_id: 'thief', session_id: 'k@6' })
  t.match(cancelled, { type: 'error', error: Texts.unknownType('task_cancel') }, 'no cancel grant: the unknown-type ERROR')
  const granted = await TestClient.connect(t, b.wsUrl)
  await granted.ask(continuityConstellation('granted', null))
  t.match(await granted.ask({ type: 'task_cancel', status: 'continue', client_type: 'constellation', client_id: 'granted', session_id: 'k@6' }), { type: 'error', error: Texts.sessionOwned('k@6') }, 'not its session')
  // A task of B's own keeps B draining (a drain with nothing running stops the server at once).
  await registeredDevice(t, b.wsUrl, 'dev-b')
  t.match(await galaxy.ask(taskFrame('galaxy', 'dev-b', 'k@local')), { type: 'heartbeat', session_id: 'k@local' })
  const drained = b.endpoint.drain({ deadlineMs: 60_000 })
  t.match(await galaxy.ask(taskFrame('galaxy', 'dev-1', 'k@7')), { type: 'error', error: Texts.serverDraining }, 'a draining node forwards nothing')
  await b.endpoint.stop()
  t.match(await drained, { finished: 1 }, 'the drain ended with the stop')
})

test('a TASK reaching the node of a device that just left is answered there with the usual ERROR, with its ids', async (t) => {
  const cluster = testCluster(t)
  const a = await cluster.node('node-a')
  const b = await cluster.node('node-b')
  const device = await registeredDevice(t, a.wsUrl, 'dev-gone')
  const galaxy = await TestClient.connect(t, b.wsUrl)
  await galaxy.ask(continuityConstellation('galaxy', null))
  const left = new Promise<void>((resolve) => { const off = a.endpoint.on('clientDisconnected', () => { off(); resolve() }) })
  device.ws.close()
  await left
  // B looked the device up just before it left, and its TASK lands in the device's mailbox just after.
  await cluster.hub.link('node-b').send('dev-gone', {
    kind: 'task',
    sessionId: 'g@1',
    requesterId: 'galaxy',
    requesterNode: 'node-b',
    requesterTargetId: null,
    capabilities: ['resume'],
    task: taskFrame('galaxy', 'dev-gone', 'g@1') as never,
    frameSize: 100
  }, 'node-a')
  t.match(await galaxy.next(), { type: 'error', error: Texts.targetNotConnected('dev-gone'), session_id: 'g@1', response_id: 'r-g@1' })
  t.match(await galaxy.ask(taskFrame('galaxy', 'dev-gone', 'g@2')), { type: 'error', error: Texts.targetNotConnected('dev-gone') }, 'and a new lookup finds no device')
})

test('the frames of an away requester wait in its mailbox and reach it when it resumes', async (t) => {
  const cluster = testCluster(t, {}, { resumeWindowMs: 60_000 })
  const a = await cluster.node('node-a')
  const b = await cluster.node('node-b')
  const device = await registeredDevice(t, a.wsUrl, 'dev-w')
  const first = await TestClient.connect(t, b.wsUrl)
  await first.ask(continuityConstellation('galaxy', 'dev-w'))
  await first.ask(taskFrame('galaxy', 'dev-w', 'w@1'))
  const command = (await until(device, (f) => f.type === 'command')).frame
  const away = new Promise<void>((resolve) => { const off = b.endpoint.on('clientAway', () => { off(); resolve() }) })
  first.ws.terminate()
  await away
  const ended = new Promise<void>((resolve) => { const off = a.endpoint.on('taskEnd', () => { off(); resolve() }) })
  device.send({ type: 'command_results', status: 'continue', client_type: 'device', client_id: 'dev-w', session_id: 'w@1', prev_response_id: command.response_id, action_results: [] })
  await ended
  const second = await TestClient.connect(t, b.wsUrl)
  t.match(await second.ask(continuityConstellation('galaxy', 'dev-w')), { type: 'heartbeat', status: 'ok' })
  t.match((await until(second, (f) => f.type === 'task_end')).frame, { session_id: 'w@1', status: 'completed' }, 'delivered from the mailbox')
})
