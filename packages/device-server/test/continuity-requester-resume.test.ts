import { test } from 'tap'
import { Texts } from '../src/internal.js'
import { TestClient, registeredConstellation, registeredDevice, startServer, until } from './helpers/harness.js'
import { continuityConstellation, dropConnection, nextEvent, results, stepsAgent, task } from './helpers/continuity.js'

test('a resumed requester re-sends its TASKs: running → the ack again, finished → its TASK_END again; nothing runs twice', async (t) => {
  const { wsUrl, endpoint } = await startServer(t, { agent: stepsAgent(1), resumeWindowMs: 60_000 })
  let started = 0
  t.teardown(endpoint.on('sessionStarted', () => { started++ }))
  const device = await registeredDevice(t, wsUrl, 'dev-q')
  const first = await TestClient.connect(t, wsUrl)
  t.match((await first.ask(continuityConstellation('g-q', 'dev-q'))).aip, { resumed: false })
  await first.ask(task('g-q', 'dev-q', 'q@1'))
  await first.ask(task('g-q', 'dev-q', 'q@2'))
  const c1 = (await until(device, (f) => f.type === 'command' && f.session_id === 'q@1')).frame
  const c2 = (await until(device, (f) => f.type === 'command' && f.session_id === 'q@2')).frame

  await dropConnection(endpoint, first)
  // q@1 ends while its requester is away: its TASK_END is kept, not sent.
  const ended = nextEvent(endpoint, 'taskEnd')
  device.send(results('dev-q', c1))
  t.match(await ended, { sessionId: 'q@1', status: 'completed' })
  t.match(endpoint.getSession('q@2'), { requesterAway: true })

  const second = await TestClient.connect(t, wsUrl)
  t.match((await second.ask(continuityConstellation('g-q', 'dev-q'))).aip, { resumed: true })
  const end1 = await second.ask(task('g-q', 'dev-q', 'q@1'))
  t.match(end1, { type: 'task_end', status: 'completed', session_id: 'q@1', error: null })
  t.same(end1.result, [{ request: 'Open Notepad', result: [{ status: 'success', error: null, result: 'done', namespace: null, call_id: c1.actions[0].call_id }] }], 'built from the record')
  t.match(await second.ask(task('g-q', 'dev-q', 'q@2')), { type: 'heartbeat', status: 'ok', session_id: 'q@2' }, 'the ack again')
  t.equal(started, 2, 'no task started again')
  t.equal(endpoint.sessionCount, 1)
  device.send(results('dev-q', c2))
  t.match(await second.next(), { type: 'task_end', status: 'completed', session_id: 'q@2' }, 'one TASK_END for the running one')
})

test('a requester not granted resume that sends a TASK again gets the errors of today', async (t) => {
  const { wsUrl } = await startServer(t, { agent: stepsAgent(1), resumeWindowMs: 60_000 })
  const device = await registeredDevice(t, wsUrl, 'dev-n')
  const galaxy = await registeredConstellation(t, wsUrl, 'g-n', 'dev-n')
  await galaxy.ask(task('g-n', 'dev-n', 'n@1'))
  const command = (await until(device, (f) => f.type === 'command')).frame
  t.match(await galaxy.ask(task('g-n', 'dev-n', 'n@1')), { type: 'error', error: Texts.sessionRunning('n@1') })
  device.send(results('dev-n', command))
  t.match(await galaxy.next(), { type: 'task_end', status: 'completed' })
  t.match(await galaxy.ask(task('g-n', 'dev-n', 'n@1')), { type: 'error', error: Texts.sessionUsed('n@1') })
})

test('a requester granted resume may not re-send a session another client owns', async (t) => {
  const { wsUrl } = await startServer(t, { agent: stepsAgent(1), resumeWindowMs: 60_000 })
  await registeredDevice(t, wsUrl, 'dev-o')
  const owner = await registeredConstellation(t, wsUrl, 'g-owner', 'dev-o')
  await owner.ask(task('g-owner', 'dev-o', 'o@1'))
  const other = await TestClient.connect(t, wsUrl)
  await other.ask(continuityConstellation('g-other', 'dev-o'))
  t.match(await other.ask(task('g-other', 'dev-o', 'o@1')), { type: 'error', error: Texts.sessionOwned('o@1') })
})
