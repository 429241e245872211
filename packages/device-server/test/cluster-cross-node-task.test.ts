import { test } from 'tap'
import { Texts } from '../src/internal.js'
import { TestClient, echoDevice, registeredConstellation, registeredDevice, until } from './helpers/harness.js'
import { continuityConstellation, nextEvent } from './helpers/continuity.js'
import { answer, taskFrame, testCluster } from './helpers/cluster.js'

test('a constellation on node B runs a task on a device of node A: ack and TASK_END on B, COMMAND on A', async (t) => {
  const cluster = testCluster(t)
  const a = await cluster.node('node-a')
  const b = await cluster.node('node-b')
  const device = await registeredDevice(t, a.wsUrl, 'dev-1')
  const galaxy = await registeredConstellation(t, b.wsUrl, 'galaxy', 'dev-1')
  const started = nextEvent(a.endpoint, 'sessionStarted')
  galaxy.send(taskFrame('galaxy', 'dev-1', 'x@1'))
  t.match(await galaxy.next(), { type: 'heartbeat', status: 'ok', session_id: 'x@1' }, 'the ack, made on A, reaches B')
  t.match(await started, { sessionId: 'x@1', requesterId: 'galaxy', deviceId: 'dev-1' }, 'the agent runs on A')
  t.equal(b.endpoint.sessionCount, 0, 'nothing runs on B')
  const command = await device.next()
  t.match(command, { type: 'command', session_id: 'x@1' })
  const ended = nextEvent(a.endpoint, 'taskEnd')
  device.send(answer('dev-1', command))
  const end = await galaxy.next()
  t.match(end, { type: 'task_end', status: 'completed', session_id: 'x@1', error: null })
  t.match(await device.next(), { type: 'task_end', session_id: 'x@1' }, 'the device gets its copy')
  const record = await ended
  t.same(end.result, record.result, 'the TASK_END B wrote is the one A made')
  t.equal(b.endpoint.getResult('x@1'), undefined, 'not in B\'s own store')
  t.match(await b.endpoint.getClusterResult('x@1'), { sessionId: 'x@1', status: 'completed', deviceId: 'dev-1' }, 'readable from B through the cluster')
  t.match(await b.endpoint.getClusterResultByTaskName('x@1'), { sessionId: 'x@1' })
})

test('a TASK without a session id gets one from the requester\'s node; a TASK for an unknown device gets the usual ERROR', async (t) => {
  const cluster = testCluster(t)
  const a = await cluster.node('node-a')
  const b = await cluster.node('node-b')
  const device = await registeredDevice(t, a.wsUrl, 'dev-2')
  echoDevice(device, 'dev-2')
  const galaxy = await registeredConstellation(t, b.wsUrl, 'galaxy', null)
  const ack = await galaxy.ask(taskFrame('galaxy', 'dev-2', null))
  t.match(ack, { type: 'heartbeat', status: 'ok' })
  t.type(ack.session_id, 'string')
  t.match((await until(galaxy, (f) => f.type === 'task_end')).frame, { status: 'completed', session_id: ack.session_id })
  t.match(await galaxy.ask(taskFrame('galaxy', 'nobody', 'y@1')), { type: 'error', error: Texts.targetNotConnected('nobody'), session_id: 'y@1', response_id: 'r-y@1' })
})

test('a constellation registers on B scoped to a device of A, reads its device info and its latest telemetry', async (t) => {
  const cluster = testCluster(t)
  const a = await cluster.node('node-a')
  const b = await cluster.node('node-b')
  const device = await registeredDevice(t, a.wsUrl, 'dev-3', { metadata: { platform: 'linux', system_info: { os: 'linux', cpu: 4 } } })
  const galaxy = await registeredConstellation(t, b.wsUrl, 'galaxy', 'dev-3')
  const info = { type: 'device_info_request', status: 'continue', client_type: 'constellation', client_id: 'galaxy', target_id: 'dev-3', request_id: 'i-1' }
  t.match(await galaxy.ask(info), { type: 'device_info_response', response_id: 'i-1', result: { os: 'linux', cpu: 4 } })
  const pushed = nextEvent(a.endpoint, 'clientTelemetry')
  device.send({ type: 'device_info_response', status: 'ok', client_type: 'device', client_id: 'dev-3', metadata: { os: 'linux', cpu: 8 } })
  await pushed
  // The lease data follows the push; the next read sees it (bounded retries: the update is asynchronous).
  let result: Record<string, any> = {}
  for (let i = 0; i < 20 && result.cpu !== 8; i++) result = (await galaxy.ask({ ...info, request_id: `i-${i + 2}` })).result
  t.match(result, { cpu: 8 }, 'the latest telemetry')
  const clients = await b.endpoint.listClusterClients()
  t.match(clients.map((c) => [c.clientId, c.nodeId]), [['dev-3', 'node-a'], ['galaxy', 'node-b']], 'cluster-wide listing')
  const refused = await TestClient.connect(t, b.wsUrl)
  t.match(await refused.ask({ type: 'register', status: 'ok', client_type: 'constellation', client_id: 'g2', target_id: 'ghost' }), { type: 'error', error: Texts.targetNotConnected('ghost') })
})

test('a requester granted resume that sends a finished TASK again from another node gets its TASK_END from the cluster, nothing runs twice', async (t) => {
  const cluster = testCluster(t)
  const a = await cluster.node('node-a')
  const b = await cluster.node('node-b')
  const c = await cluster.node('node-c')
  const device = await registeredDevice(t, a.wsUrl, 'dev-4')
  echoDevice(device, 'dev-4')
  let started = 0
  t.teardown(a.endpoint.on('sessionStarted', () => { started++ }))
  const first = await TestClient.connect(t, b.wsUrl)
  await first.ask(continuityConstellation('galaxy', 'dev-4'))
  await first.ask(taskFrame('galaxy', 'dev-4', 'z@1'))
  const end = (await until(first, (f) => f.type === 'task_end')).frame
  first.ws.close()
  await first.closed
  const second = await TestClient.connect(t, c.wsUrl)
  await second.ask(continuityConstellation('galaxy', 'dev-4'))
  const again = await second.ask(taskFrame('galaxy', 'dev-4', 'z@1'))
  t.match(again, { type: 'task_end', session_id: 'z@1', status: 'completed' })
  t.same(again.result, end.result, 'the same result')
  t.equal(started, 1, 'not run again')
  const other = await TestClient.connect(t, c.wsUrl)
  await other.ask(continuityConstellation('intruder', 'dev-4'))
  t.match(await other.ask(taskFrame('intruder', 'dev-4', 'z@1')), { type: 'error', error: Texts.sessionOwned('z@1') }, 'another client cannot read it')
})

test('a frame in the mailbox of a requester that cannot resume and did not send that session is dropped', async (t) => {
  const cluster = testCluster(t)
  await cluster.node('node-a')
  const b = await cluster.node('node-b')
  const galaxy = await registeredConstellation(t, b.wsUrl, 'galaxy', null)
  // A TASK_END made for an earlier connection of the id (it left for good before its task ended).
  const stale = { type: 'task_end', status: 'failed', session_id: 'old@1', error: 'x' }
  await cluster.hub.link('node-a').send('galaxy', { kind: 'frame', sessionId: 'old@1', end: true, message: stale as never, text: JSON.stringify(stale) }, 'node-b')
  let drained = false
  for (let i = 0; i < 500 && !drained; i++) {
    drained = cluster.hub.mailboxLength('galaxy') === 0
    if (!drained) await new Promise((resolve) => setTimeout(resolve, 2))
  }
  t.ok(drained, 'taken out of the mailbox')
  t.match(await galaxy.ask({ type: 'heartbeat', status: 'ok', client_type: 'constellation', client_id: 'galaxy' }), { type: 'heartbeat' }, 'and not written')
})
