import { test } from 'tap'
import type { Agent, DeviceServerEvents } from '../src/index.js'
import { TestClient, deviceRegister, echoDevice, registeredConstellation, registeredDevice, startServer, until } from './helpers/harness.js'

const oneCommand: Agent = async (_task, context) => {
  await context.execute([{ tool_name: 'click', parameters: {}, tool_type: 'action' }], { timeoutMs: 10_000 })
  return { status: 'completed' }
}

test('refusals, command ends and rejected frames are emitted as events, and stats() and clientActivity() read the load', async (t) => {
  const { wsUrl, endpoint } = await startServer(t, { agent: oneCommand })
  const refused: Array<DeviceServerEvents['registrationRefused']> = []
  const commands: Array<DeviceServerEvents['commandEnd']> = []
  const rejected: Array<DeviceServerEvents['frameRejected']> = []
  endpoint.on('registrationRefused', (event) => refused.push(event))
  endpoint.on('commandEnd', (event) => commands.push(event))
  endpoint.on('frameRejected', (event) => rejected.push(event))

  const device = await registeredDevice(t, wsUrl, 'obs-dev')
  echoDevice(device, 'obs-dev')
  const twin = await TestClient.connect(t, wsUrl)
  t.match(await twin.ask(deviceRegister('obs-dev')), { type: 'error' })
  t.same(refused, [{ reason: 'duplicate client_id' }], 'a duplicate registration is a refusal with its reason')

  const activity = endpoint.clientActivity('obs-dev')
  t.match(activity, { queuedFrames: 0, runningTasks: 0, pendingTasks: 0 })
  t.type(activity?.lastSeenAt, 'number')
  t.equal(endpoint.clientActivity('nobody'), undefined)

  const galaxy = await registeredConstellation(t, wsUrl, 'obs-galaxy', 'obs-dev')
  await galaxy.ask({ type: 'task', status: 'continue', client_type: 'constellation', client_id: 'obs-galaxy', target_id: 'obs-dev', session_id: 'obs@1', task_name: 'obs', request: 'click' })
  t.match((await until(galaxy, (f) => f.type === 'task_end')).frame, { status: 'completed' })
  t.equal(commands.length, 1)
  t.match(commands[0], { sessionId: 'obs@1', deviceId: 'obs-dev', status: 'ok' })
  t.ok((commands[0]?.durationMs ?? -1) >= 0, 'the command has a duration')

  t.match(await galaxy.ask('{not json'), { type: 'error' })
  t.equal(rejected.length, 1)
  t.match(rejected[0]?.code, /^AIP_ERR_PROTOCOL_/, 'a malformed frame is rejected with its decoding code')
  t.match(endpoint.stats(), { connections: 2, sessions: 0, pendingDispatches: 0, queuedFrames: 0, draining: false })
})
