import { test } from 'tap'
import { Texts } from '../src/internal.js'
import { TestClient, registeredConstellation, registeredDevice, until } from './helpers/harness.js'
import { continuityConstellation, nextEvent } from './helpers/continuity.js'
import { answer, taskFrame, testCluster } from './helpers/cluster.js'

/** Resolves once `check` holds, trying at most `tries` times, a turn of the event loop apart. */
async function eventually (check: () => boolean | Promise<boolean>, tries = 500): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return true
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
  return false
}

test('a session forwarded to a node that is lost ends once on the requester\'s node, and its late frames are dropped', async (t) => {
  const cluster = testCluster(t, { nodeLeaseMs: 40 })
  const a = await cluster.node('node-a')
  const b = await cluster.node('node-b')
  const device = await registeredDevice(t, a.wsUrl, 'dev-n')
  const galaxy = await registeredConstellation(t, b.wsUrl, 'galaxy', 'dev-n')
  t.match(await galaxy.ask(taskFrame('galaxy', 'dev-n', 'n@1')), { type: 'heartbeat', session_id: 'n@1' })
  const command = (await until(device, (f) => f.type === 'command')).frame
  const endedOnB = nextEvent(b.endpoint, 'taskEnd')
  cluster.hub.loseNode('node-a')
  t.match(await galaxy.next(), { type: 'task_end', status: 'failed', session_id: 'n@1', error: Texts.nodeLost })
  t.match(await endedOnB, { sessionId: 'n@1', status: 'failed', error: Texts.nodeLost, deviceId: 'dev-n', requesterId: 'galaxy' })
  t.match(b.endpoint.getResult('n@1'), { status: 'failed', error: Texts.nodeLost }, 'its record is stored')

  // A was only paused: it comes back and finishes the task; its TASK_END for the ended session is dropped on B.
  cluster.hub.link('node-a').lost = false
  const endedOnA = nextEvent(a.endpoint, 'taskEnd')
  device.send(answer('dev-n', command))
  t.match(await endedOnA, { sessionId: 'n@1', status: 'completed' })
  t.ok(await eventually(() => cluster.hub.mailboxLength('galaxy') === 0), 'B took the late frame out of the mailbox')
  t.match(await galaxy.ask({ type: 'heartbeat', status: 'ok', client_type: 'constellation', client_id: 'galaxy' }), { type: 'heartbeat' }, 'no second TASK_END')
})

test('a requester whose node is lost resumes on another node and gets the TASK_END of its session there', async (t) => {
  const cluster = testCluster(t, { nodeLeaseMs: 40 }, { resumeWindowMs: 60_000 })
  const a = await cluster.node('node-a')
  const b = await cluster.node('node-b')
  const c = await cluster.node('node-c')
  const device = await registeredDevice(t, b.wsUrl, 'dev-m')
  const first = await TestClient.connect(t, a.wsUrl)
  await first.ask(continuityConstellation('galaxy', 'dev-m'))
  t.match(await first.ask(taskFrame('galaxy', 'dev-m', 'm@1')), { type: 'heartbeat', session_id: 'm@1' })
  const command = (await until(device, (f) => f.type === 'command')).frame
  cluster.hub.loseNode('node-a')
  first.ws.terminate()

  const second = await TestClient.connect(t, c.wsUrl)
  t.match(await second.ask(continuityConstellation('galaxy', 'dev-m')), { type: 'heartbeat', status: 'ok' }, 'registered on C')
  t.match(await second.ask(taskFrame('galaxy', 'dev-m', 'm@1')), { type: 'heartbeat', status: 'ok', session_id: 'm@1' }, 'its TASK sent again: the ack, the task runs on B')
  t.equal(b.endpoint.sessionCount, 1, 'still one session, not run twice')
  device.send(answer('dev-m', command))
  t.match((await until(second, (f) => f.type === 'task_end')).frame, { status: 'completed', session_id: 'm@1' })
})

test('a requester whose node is lost and that does not come back within the window gets its session cancelled', async (t) => {
  const cluster = testCluster(t, { nodeLeaseMs: 40 }, { resumeWindowMs: 100 })
  const a = await cluster.node('node-a')
  const b = await cluster.node('node-b')
  await registeredDevice(t, b.wsUrl, 'dev-w')
  const galaxy = await TestClient.connect(t, a.wsUrl)
  await galaxy.ask(continuityConstellation('galaxy', 'dev-w'))
  t.match(await galaxy.ask(taskFrame('galaxy', 'dev-w', 'w@1')), { type: 'heartbeat', session_id: 'w@1' })
  const ended = nextEvent(b.endpoint, 'taskEnd')
  cluster.hub.loseNode('node-a')
  t.match(await ended, { sessionId: 'w@1', status: 'failed', error: Texts.requesterNotResumed(100) })
})

test('a requester not granted resume whose node is lost has its session cancelled at once', async (t) => {
  const cluster = testCluster(t, { nodeLeaseMs: 40 })
  const a = await cluster.node('node-a')
  const b = await cluster.node('node-b')
  await registeredDevice(t, b.wsUrl, 'dev-x')
  const galaxy = await registeredConstellation(t, a.wsUrl, 'galaxy', 'dev-x')
  t.match(await galaxy.ask(taskFrame('galaxy', 'dev-x', 'x@1')), { type: 'heartbeat', session_id: 'x@1' })
  const ended = nextEvent(b.endpoint, 'taskEnd')
  cluster.hub.loseNode('node-a')
  t.match(await ended, { sessionId: 'x@1', status: 'failed', error: Texts.requesterDisconnected })
})
