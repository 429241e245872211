import { test } from 'tap'
import { CloseCode } from '@aip/endpoint'
import { DeviceServerEndpoint } from '../src/index.js'
import type { Teardown } from '@aip/test-support'
import { constellationRegister, deviceRegister } from './helpers/harness.js'
import { HeldTransport, continuityDevice, heldConnector, nextEvent, results, stepsAgent, task } from './helpers/continuity.js'

/** An endpoint with in-process peers whose closes the test completes itself. */
function setup (t: Teardown, resumeWindowMs: number): { endpoint: DeviceServerEndpoint, connect: () => HeldTransport } {
  const endpoint = new DeviceServerEndpoint({ pingIntervalMs: 0, takeoverProbeMs: 20, agent: stepsAgent(1), resumeWindowMs })
  // The server's own timers are unref'ed and these peers do no I/O: keep the process up while the test runs.
  const keepAlive = setInterval(() => {}, 1_000)
  t.teardown(async () => {
    clearInterval(keepAlive)
    await endpoint.stop()
  })
  return { endpoint, connect: heldConnector(t, endpoint) }
}

test('frames still arriving on a replaced connection are dropped: its results are not delivered, the new connection completes the task', async (t) => {
  const { endpoint, connect } = setup(t, 60_000)
  const old = connect()
  old.receive(continuityDevice('dev-f'))
  t.match(await old.next(), { type: 'heartbeat', aip: { epoch: 1 } })
  const galaxy = connect()
  galaxy.receive(constellationRegister('g-f', 'dev-f'))
  await galaxy.next()
  galaxy.receive(task('g-f', 'dev-f', 'f@1'))
  await galaxy.next()
  const command = await old.next()

  // The old socket answers no ping: a new connection takes the id over (and, granted resume, the session).
  const fresh = connect()
  fresh.receive(continuityDevice('dev-f'))
  t.match(await fresh.next(), { type: 'heartbeat', aip: { epoch: 2, resumed: true } })
  t.match(await fresh.next(), { type: 'command', response_id: command.response_id, aip_resent: true })
  t.equal(old.closing?.code, CloseCode.Replaced, 'the server closes the old connection')

  // The old connection's close has not completed: a frame of it still reaches the server, and is fenced.
  const fenced = nextEvent(endpoint, 'frameFenced')
  old.receive(results('dev-f', command))
  t.match(await fenced, { clientId: 'dev-f' })
  t.equal(endpoint.stats().fencedFrames, 1)
  t.equal(endpoint.sessionCount, 1, 'the result of the old connection did not complete the task')
  const again = nextEvent(endpoint, 'frameFenced')
  old.receive({ type: 'heartbeat', status: 'ok', client_type: 'device', client_id: 'dev-f' })
  await again
  t.equal(endpoint.stats().fencedFrames, 2, 'every frame, of any type')
  t.equal(old.sent.length, 2, 'the old connection is answered nothing more')

  const ended = nextEvent(endpoint, 'taskEnd')
  fresh.receive(results('dev-f', command))
  t.match(await ended, { sessionId: 'f@1', status: 'completed' })
  t.match(await galaxy.next(), { type: 'task_end', status: 'completed' })
})

test('a takeover of a device that asked for nothing also fences its old connection', async (t) => {
  const { endpoint, connect } = setup(t, 60_000)
  const old = connect()
  old.receive(deviceRegister('dev-p'))
  await old.next()
  const fresh = connect()
  fresh.receive(deviceRegister('dev-p'))
  t.match(await fresh.next(), { type: 'heartbeat', status: 'ok' })
  t.equal(fresh.sent[0]?.aip, undefined, 'no grant to a peer that asked for none')
  const fenced = nextEvent(endpoint, 'frameFenced')
  old.receive({ type: 'task', status: 'continue', client_type: 'device', client_id: 'dev-p', request: 'run' })
  await fenced
  t.equal(endpoint.sessionCount, 0, 'its TASK started nothing')
})
