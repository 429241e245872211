import { test } from 'tap'
import { buildTaskCancel } from '@aip/protocol'
import { Texts } from '../src/internal.js'
import { TestClient, registeredConstellation, registeredDevice, startServer, until } from './helpers/harness.js'
import { continuityConstellation, nextEvent, stepsAgent, task } from './helpers/continuity.js'

const cancel = (clientId: string, sessionId: string): Record<string, unknown> =>
  buildTaskCancel({ clientId, clientType: 'constellation', sessionId, targetId: 'dev-k', reason: 'aborted' }) as unknown as Record<string, unknown>

test('task_cancel from a requester granted cancel ends its task with one TASK_END failed; the device is told', async (t) => {
  const { wsUrl, endpoint } = await startServer(t, { agent: stepsAgent(1) })
  let signalAborted = false
  t.teardown(endpoint.on('commandEnd', (e) => { signalAborted = e.status === 'cancelled' }))
  const device = await registeredDevice(t, wsUrl, 'dev-k')
  const galaxy = await TestClient.connect(t, wsUrl)
  t.match((await galaxy.ask(continuityConstellation('g-k', 'dev-k'))).aip, { capabilities: ['resume', 'cancel', 'deadline'] })
  await galaxy.ask(task('g-k', 'dev-k', 'k@1'))
  await until(device, (f) => f.type === 'command')
  const ended = nextEvent(endpoint, 'taskEnd')
  galaxy.send(cancel('g-k', 'k@1'))
  const end = await galaxy.next()
  t.match(end, { type: 'task_end', status: 'failed', session_id: 'k@1', error: Texts.cancelledByRequester })
  t.match(await ended, { sessionId: 'k@1', status: 'failed', error: 'Task was cancelled by the requester' })
  t.match((await until(device, (f) => f.type === 'task_end')).frame, { session_id: 'k@1', status: 'failed' }, 'the device gets its copy')
  t.ok(signalAborted, 'the waiting COMMAND was abandoned')
  t.match(await galaxy.ask({ type: 'heartbeat', status: 'ok', client_type: 'constellation', client_id: 'g-k' }), { type: 'heartbeat' }, 'one TASK_END, nothing else')
  t.equal(endpoint.sessionCount, 0)
})

test('task_cancel from a client that did not negotiate cancel gets the unknown-type ERROR; the task runs on', async (t) => {
  const { wsUrl, endpoint } = await startServer(t, { agent: stepsAgent(1) })
  await registeredDevice(t, wsUrl, 'dev-k')
  const galaxy = await registeredConstellation(t, wsUrl, 'g-plain', 'dev-k')
  await galaxy.ask(task('g-plain', 'dev-k', 'k@2'))
  const answer = await galaxy.ask(cancel('g-plain', 'k@2'))
  t.match(answer, { type: 'error', status: 'error', session_id: 'k@2' })
  t.equal(answer.error, Texts.unknownType('task_cancel'))
  t.equal(answer.error, 'Unknown message type: ClientMessageType.TASK_CANCEL')
  t.equal(endpoint.sessionCount, 1)
})

test('task_cancel for a session the client does not own, or that is not running, gets an ERROR with its session id', async (t) => {
  const { wsUrl, endpoint } = await startServer(t, { agent: stepsAgent(1) })
  await registeredDevice(t, wsUrl, 'dev-k')
  const owner = await registeredConstellation(t, wsUrl, 'g-owner', 'dev-k')
  await owner.ask(task('g-owner', 'dev-k', 'k@3'))
  const other = await TestClient.connect(t, wsUrl)
  await other.ask(continuityConstellation('g-other', 'dev-k', ['cancel']))
  t.match(await other.ask(cancel('g-other', 'k@3')), { type: 'error', session_id: 'k@3', error: Texts.sessionOwned('k@3') })
  t.match(await other.ask(cancel('g-other', 'nope')), { type: 'error', session_id: 'nope', error: Texts.sessionNotRunning('nope') })
  t.equal(endpoint.sessionCount, 1, 'the owner\'s task runs on')
})
