import { test } from 'tap'
import { TIMEOUT_KEY } from '@aip/protocol'
import { Texts } from '../src/internal.js'
import { continuityDevice, heldServer, nextEvent, stepsAgent, task } from './helpers/continuity.js'
import { constellationRegister, deviceRegister } from './helpers/harness.js'

test('a TASK with aip_timeout_ms is cancelled at its deadline; a device granted deadline is told the time left of each COMMAND', async (t) => {
  const { endpoint, clock, connect } = heldServer(t, { agent: stepsAgent(2), commandTimeoutMs: 60_000 })
  const device = connect()
  device.receive(continuityDevice('dev-d'))
  await device.next()
  const galaxy = connect()
  galaxy.receive(constellationRegister('g-d', 'dev-d'))
  await galaxy.next()
  galaxy.receive(task('g-d', 'dev-d', 'd@1', { metadata: { [TIMEOUT_KEY]: 5_000 } }))
  t.match(await galaxy.next(), { type: 'heartbeat', session_id: 'd@1' })
  const first = await device.next()
  t.equal(first[TIMEOUT_KEY], 5_000, 'min(command timeout, time left of the task)')
  t.match(endpoint.getSession('d@1'), { deadlineAt: Date.now() + 5_000 })
  clock.advance(4_999)
  t.equal(endpoint.sessionCount, 1, 'still running just before the deadline')
  const ended = nextEvent(endpoint, 'taskEnd')
  clock.advance(1)
  t.match(await ended, { sessionId: 'd@1', status: 'failed', error: Texts.deadlinePassed(5_000) })
  t.match(await galaxy.next(), { type: 'task_end', status: 'failed', error: 'Task was cancelled: its deadline of 5000 ms passed' })
  t.match(await device.next(), { type: 'task_end', session_id: 'd@1' }, 'the device is told')
})

test('a COMMAND to a device granted deadline carries its own timeout when shorter; a device that asked nothing sees none', async (t) => {
  const { connect } = heldServer(t, { agent: stepsAgent(1), commandTimeoutMs: 2_000 })
  const device = connect()
  device.receive(continuityDevice('dev-d2', ['deadline']))
  await device.next()
  device.receive({ type: 'task', status: 'continue', client_type: 'device', client_id: 'dev-d2', session_id: 'd2@1', request: 'go', metadata: { [TIMEOUT_KEY]: 10_000 } })
  await device.next()
  t.equal((await device.next())[TIMEOUT_KEY], 2_000)

  const plain = connect()
  plain.receive(deviceRegister('dev-d3'))
  await plain.next()
  plain.receive({ type: 'task', status: 'continue', client_type: 'device', client_id: 'dev-d3', session_id: 'd3@1', request: 'go', metadata: { [TIMEOUT_KEY]: 10_000 } })
  await plain.next()
  const command = await plain.next()
  t.equal(command.type, 'command')
  t.notOk(TIMEOUT_KEY in command, 'reference COMMAND')
})

test('a deadline longer than a timer can hold is no deadline (it must not fire at once)', async (t) => {
  const { endpoint, clock, connect } = heldServer(t, { agent: stepsAgent(1) })
  const device = connect()
  device.receive(deviceRegister('dev-d4'))
  await device.next()
  device.receive({ type: 'task', status: 'continue', client_type: 'device', client_id: 'dev-d4', session_id: 'd4@1', request: 'go', metadata: { [TIMEOUT_KEY]: 2 ** 40 } })
  await device.next()
  t.match(await device.next(), { type: 'command' })
  clock.advance(10)
  t.match(endpoint.getSession('d4@1'), { deadlineAt: null }, 'still running, with no deadline')
})
