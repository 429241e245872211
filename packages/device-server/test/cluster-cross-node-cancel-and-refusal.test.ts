import { test } from 'tap'
import { Texts } from '../src/internal.js'
import { TestClient, registeredConstellation, registeredDevice, until } from './helpers/harness.js'
import { continuityConstellation, nextEvent } from './helpers/continuity.js'
import { answer, taskFrame, testCluster } from './helpers/cluster.js'

test('task_cancel on B ends the session running on A: A cancels it and its TASK_END failed reaches B', async (t) => {
  const cluster = testCluster(t)
  const a = await cluster.node('node-a')
  const b = await cluster.node('node-b')
  const device = await registeredDevice(t, a.wsUrl, 'dev-c')
  const galaxy = await TestClient.connect(t, b.wsUrl)
  await galaxy.ask(continuityConstellation('galaxy', 'dev-c'))
  t.match(await galaxy.ask(taskFrame('galaxy', 'dev-c', 'c@1')), { type: 'heartbeat', session_id: 'c@1' })
  t.match(await device.next(), { type: 'command', session_id: 'c@1' })
  const ended = nextEvent(a.endpoint, 'taskEnd')
  galaxy.send({ type: 'task_cancel', status: 'continue', client_type: 'constellation', client_id: 'galaxy', session_id: 'c@1', error: 'no longer needed' })
  t.match(await ended, { sessionId: 'c@1', status: 'failed', error: Texts.cancelledByRequester })
  t.match(await galaxy.next(), { type: 'task_end', status: 'failed', session_id: 'c@1', error: Texts.cancelledByRequester })
  t.equal(a.endpoint.sessionCount, 0)
})

test('a refusal on A (the requester\'s session limit) reaches the requester on B as an ERROR with its ids', async (t) => {
  const cluster = testCluster(t)
  const a = await cluster.node('node-a', { maxSessionsPerClient: 1 })
  const b = await cluster.node('node-b')
  const device = await registeredDevice(t, a.wsUrl, 'dev-l')
  const galaxy = await registeredConstellation(t, b.wsUrl, 'galaxy', 'dev-l')
  t.match(await galaxy.ask(taskFrame('galaxy', 'dev-l', 'l@1')), { type: 'heartbeat', session_id: 'l@1' })
  t.match(await galaxy.ask(taskFrame('galaxy', 'dev-l', 'l@2')), { type: 'error', error: Texts.tooManyClientSessions, session_id: 'l@2', response_id: 'r-l@2' })
  const command = (await until(device, (f) => f.type === 'command')).frame
  device.send(answer('dev-l', command))
  t.match(await galaxy.next(), { type: 'task_end', session_id: 'l@1', status: 'completed' }, 'the first task still ends')
  t.match(await galaxy.ask(taskFrame('galaxy', 'dev-l', 'l@1')), { type: 'error', error: Texts.sessionUsed('l@1') }, 'a used session id is refused by A')
})

test('the requester leaving B cancels what it forwarded: its session on A ends', async (t) => {
  const cluster = testCluster(t)
  const a = await cluster.node('node-a')
  const b = await cluster.node('node-b')
  const device = await registeredDevice(t, a.wsUrl, 'dev-r')
  const galaxy = await registeredConstellation(t, b.wsUrl, 'galaxy', 'dev-r')
  await galaxy.ask(taskFrame('galaxy', 'dev-r', 'r@1'))
  t.match(await device.next(), { type: 'command', session_id: 'r@1' })
  const ended = nextEvent(a.endpoint, 'taskEnd')
  galaxy.ws.close()
  t.match(await ended, { sessionId: 'r@1', status: 'failed', error: Texts.requesterDisconnected })
  t.match(await device.next(), { type: 'task_end', session_id: 'r@1', status: 'failed' }, 'the device is told')
})

test('cancelSession on the requester\'s node cancels a session it forwarded; an unknown id is still false', async (t) => {
  const cluster = testCluster(t)
  const a = await cluster.node('node-a')
  const b = await cluster.node('node-b')
  const device = await registeredDevice(t, a.wsUrl, 'dev-s')
  const galaxy = await registeredConstellation(t, b.wsUrl, 'galaxy', 'dev-s')
  await galaxy.ask(taskFrame('galaxy', 'dev-s', 's@1'))
  await until(device, (f) => f.type === 'command')
  t.equal(b.endpoint.cancelSession('s@1'), true)
  t.equal(b.endpoint.cancelSession('nope'), false)
  t.match(await galaxy.next(), { type: 'task_end', status: 'failed', session_id: 's@1', error: Texts.taskCancelled('cancelled') })
})
