import { test } from 'tap'
import { Texts } from '../src/internal.js'
import { TestClient, registeredConstellation, startServer, until } from './helpers/harness.js'
import { continuityDevice, dropConnection, results, stepsAgent, task } from './helpers/continuity.js'

test('a TASK for a device inside its resume window is admitted and runs when the device resumes', async (t) => {
  const { wsUrl, endpoint } = await startServer(t, { agent: stepsAgent(1), resumeWindowMs: 60_000 })
  const first = await TestClient.connect(t, wsUrl)
  await first.ask(continuityDevice('dev-a'))
  await dropConnection(endpoint, first)

  // A constellation may register scoped to the away device, and its TASK is acked, not refused.
  const galaxy = await registeredConstellation(t, wsUrl, 'g-a', 'dev-a')
  t.match(await galaxy.ask(task('g-a', 'dev-a', 'a@1')), { type: 'heartbeat', status: 'ok', session_id: 'a@1' })
  t.match(endpoint.getSession('a@1'), { deviceAway: true })

  const second = await TestClient.connect(t, wsUrl)
  t.match((await second.ask(continuityDevice('dev-a'))).aip, { resumed: true })
  const command = await second.next()
  t.match(command, { type: 'command', session_id: 'a@1' })
  second.send(results('dev-a', command))
  t.match((await until(galaxy, (f) => f.type === 'task_end')).frame, { status: 'completed', session_id: 'a@1' })
})

test('the tasks waiting for one away device are bounded: one more is refused with a clear text', async (t) => {
  const { wsUrl, endpoint } = await startServer(t, { agent: stepsAgent(1), resumeWindowMs: 60_000, maxSessionsPerAwayDevice: 2 })
  const first = await TestClient.connect(t, wsUrl)
  await first.ask(continuityDevice('dev-b'))
  await dropConnection(endpoint, first)
  const galaxy = await registeredConstellation(t, wsUrl, 'g-b', 'dev-b')
  t.match(await galaxy.ask(task('g-b', 'dev-b', 'b@1')), { type: 'heartbeat', status: 'ok' })
  t.match(await galaxy.ask(task('g-b', 'dev-b', 'b@2')), { type: 'heartbeat', status: 'ok' })
  const refusal = await galaxy.ask(task('g-b', 'dev-b', 'b@3'))
  t.match(refusal, { type: 'error', status: 'error', session_id: 'b@3' })
  t.equal(refusal.error, Texts.tooManyWaitingForDevice('dev-b', 2))
  t.equal(endpoint.sessionCount, 2)
})
