import { test } from 'tap'
import { Texts } from '../src/internal.js'
import { TestClient, registeredDevice, until } from './helpers/harness.js'
import { continuityConstellation, continuityDevice, nextEvent } from './helpers/continuity.js'
import { answer, taskFrame, testCluster } from './helpers/cluster.js'

test('a device that re-registers on another node while its task runs: the task ends where its agent ran', async (t) => {
  const cluster = testCluster(t, {}, { resumeWindowMs: 60_000 })
  const a = await cluster.node('node-a')
  const b = await cluster.node('node-b')
  const first = await TestClient.connect(t, a.wsUrl)
  await first.ask(continuityDevice('dev-mv'))
  const galaxy = await TestClient.connect(t, a.wsUrl)
  await galaxy.ask(continuityConstellation('galaxy', 'dev-mv'))
  t.match(await galaxy.ask(taskFrame('galaxy', 'dev-mv', 'mv@1')), { type: 'heartbeat', session_id: 'mv@1' })
  await until(first, (f) => f.type === 'command')
  const away = nextEvent(a.endpoint, 'clientAway')
  first.ws.terminate()
  await away
  const second = await TestClient.connect(t, b.wsUrl)
  t.match(await second.ask(continuityDevice('dev-mv')), { type: 'heartbeat', status: 'ok' })
  t.match((await until(galaxy, (f) => f.type === 'task_end')).frame, { session_id: 'mv@1', status: 'failed', error: Texts.taskCancelled('device moved to another node') })
  t.match(await galaxy.ask(taskFrame('galaxy', 'dev-mv', 'mv@2')), { type: 'heartbeat', session_id: 'mv@2' }, 'the next task goes to its new node')
  t.match((await until(second, (f) => f.type === 'command')).frame, { session_id: 'mv@2' })
})

test('a requester that re-registers on another node while its task runs gets the TASK_END there', async (t) => {
  const cluster = testCluster(t, {}, { resumeWindowMs: 60_000 })
  const a = await cluster.node('node-a')
  const b = await cluster.node('node-b')
  const device = await registeredDevice(t, a.wsUrl, 'dev-rq')
  const first = await TestClient.connect(t, a.wsUrl)
  await first.ask(continuityConstellation('galaxy', 'dev-rq'))
  t.match(await first.ask(taskFrame('galaxy', 'dev-rq', 'rq@1')), { type: 'heartbeat', session_id: 'rq@1' })
  const command = (await until(device, (f) => f.type === 'command')).frame
  const away = nextEvent(a.endpoint, 'clientAway')
  first.ws.terminate()
  await away
  const moved = nextEvent(a.endpoint, 'clientDisconnected')
  const second = await TestClient.connect(t, b.wsUrl)
  t.match(await second.ask(continuityConstellation('galaxy', 'dev-rq')), { type: 'heartbeat', status: 'ok' })
  t.match(await moved, { clientId: 'galaxy', reason: Texts.movedToAnotherNode })
  t.equal(a.endpoint.sessionCount, 1, 'the task goes on where it runs')
  device.send(answer('dev-rq', command))
  t.match((await until(second, (f) => f.type === 'task_end')).frame, { session_id: 'rq@1', status: 'completed' }, 'its TASK_END follows it')
})
