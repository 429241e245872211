import { test } from 'tap'
import { Texts } from '../src/internal.js'
import { continuityConstellation, continuityDevice, heldServer, nextEvent, stepsAgent, task } from './helpers/continuity.js'
import { constellationRegister } from './helpers/harness.js'

test('a device that does not come back within its resume window: its task fails with a clear text, then it is gone', async (t) => {
  const { endpoint, clock, connect } = heldServer(t, { agent: stepsAgent(1), resumeWindowMs: 1_000 })
  const events: string[] = []
  t.teardown(endpoint.on('clientAway', (e) => events.push(`away ${e.clientId} ${e.resumeWindowMs}`)))
  t.teardown(endpoint.on('clientDisconnected', (e) => events.push(`disconnected ${e.clientId} ${e.code}`)))
  const device = connect()
  device.receive(continuityDevice('dev-e'))
  t.match(await device.next(), { type: 'heartbeat', status: 'ok', aip: { resumed: false } })
  const galaxy = connect()
  galaxy.receive(constellationRegister('g-e', 'dev-e'))
  await galaxy.next()
  galaxy.receive(task('g-e', 'dev-e', 'e@1'))
  t.match(await galaxy.next(), { type: 'heartbeat', session_id: 'e@1' })
  t.match(await device.next(), { type: 'command' })

  const away = nextEvent(endpoint, 'clientAway')
  device.release(1006)
  await away
  clock.advance(999)
  t.equal(endpoint.sessionCount, 1, 'held until the window ends')
  const gone = nextEvent(endpoint, 'clientDisconnected')
  clock.advance(1)
  await gone
  const end = await galaxy.next()
  t.match(end, { type: 'task_end', status: 'failed', session_id: 'e@1' })
  t.equal(end.error, Texts.deviceNotResumed(1_000))
  t.equal(end.error, 'Task was cancelled because target device disconnected and did not come back within the resume window (1000 ms)')
  t.same(events, ['away dev-e 1000', 'disconnected dev-e 1006'])
  t.equal(endpoint.listClients().some((c) => c.clientId === 'dev-e'), false, 'it left the registry')
  t.equal(endpoint.clientActivity('dev-e'), undefined)

  // Too late: a registration now is a new one.
  const late = connect()
  late.receive(continuityDevice('dev-e'))
  t.match(await late.next(), { aip: { resumed: false, epoch: 1 } })
})

test('a requester that does not come back within its window: its task is cancelled with the window text', async (t) => {
  const { endpoint, clock, connect } = heldServer(t, { agent: stepsAgent(1), resumeWindowMs: 500 })
  const device = connect()
  device.receive(continuityDevice('dev-q'))
  await device.next()
  const galaxy = connect()
  galaxy.receive(continuityConstellation('g-q', 'dev-q'))
  await galaxy.next()
  galaxy.receive(task('g-q', 'dev-q', 'q@1'))
  await galaxy.next()
  await device.next()
  const away = nextEvent(endpoint, 'clientAway')
  galaxy.release(1006)
  await away
  const ended = nextEvent(endpoint, 'taskEnd')
  clock.advance(500)
  const record = await ended
  t.equal(record.error, Texts.requesterNotResumed(500))
  t.match(await device.next(), { type: 'task_end', status: 'failed', error: Texts.requesterNotResumed(500) }, 'the device is told')
})
