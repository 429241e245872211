import { test } from 'tap'
import { RESENT_FIELD } from '@aip/protocol'
import type { TaskRecord } from '../src/index.js'
import { TestClient, registeredConstellation, startServer, until } from './helpers/harness.js'
import { continuityDevice, dropConnection, nextEvent, results, stepsAgent, task } from './helpers/continuity.js'

test('a device whose link drops resumes within the window: its COMMAND is sent again with aip_resent, the task completes once', async (t) => {
  const { wsUrl, endpoint } = await startServer(t, { agent: stepsAgent(2), resumeWindowMs: 60_000 })
  const events: string[] = []
  t.teardown(endpoint.on('clientAway', (e) => events.push(`away ${e.clientId} ${e.code}`)))
  t.teardown(endpoint.on('clientResumed', (e) => events.push(`resumed ${e.clientId} epoch ${e.epoch} resent ${e.resentCommands}`)))
  t.teardown(endpoint.on('clientDisconnected', (e) => events.push(`disconnected ${e.clientId}`)))
  const ends: TaskRecord[] = []
  t.teardown(endpoint.on('taskEnd', (record) => ends.push(record)))

  const first = await TestClient.connect(t, wsUrl)
  t.match(await first.ask(continuityDevice('dev-r')), { type: 'heartbeat', status: 'ok' })
  const galaxy = await registeredConstellation(t, wsUrl, 'g-r', 'dev-r')
  t.match(await galaxy.ask(task('g-r', 'dev-r', 'r@1')), { type: 'heartbeat', status: 'ok', session_id: 'r@1' })
  const step1 = (await until(first, (f) => f.type === 'command')).frame
  t.notOk(RESENT_FIELD in step1, 'the first COMMAND is not marked')
  first.send(results('dev-r', step1))
  const step2 = (await until(first, (f) => f.type === 'command')).frame

  // The link drops while step 2 runs on the device.
  await dropConnection(endpoint, first)
  t.equal(endpoint.sessionCount, 1, 'the session is held')
  t.match(endpoint.getSession('r@1'), { deviceAway: true, requesterAway: false })
  t.match(endpoint.listClients().find((c) => c.clientId === 'dev-r'), { away: true }, 'the device is listed as away')
  t.match(endpoint.clientActivity('dev-r'), { away: true, runningTasks: 1 })
  t.notOk(endpoint.isConnected('dev-r'), 'not connected meanwhile')

  const second = await TestClient.connect(t, wsUrl)
  const answer = await second.ask(continuityDevice('dev-r'))
  t.match(answer.aip, { resumed: true, epoch: 2 })
  const again = await second.next()
  t.match(again, { type: 'command', response_id: step2.response_id, session_id: 'r@1', [RESENT_FIELD]: true }, 'step 2 again, marked')
  t.same(again.actions, step2.actions, 'the same actions')
  // The device answers (from its outbox or its result cache), twice: the second is a duplicate and is dropped.
  second.send(results('dev-r', step2))
  second.send(results('dev-r', step2))
  const end = (await until(galaxy, (f) => f.type === 'task_end')).frame
  t.match(end, { status: 'completed', session_id: 'r@1' })
  t.match(await second.next(), { type: 'task_end', session_id: 'r@1' }, 'the device gets its copy of the TASK_END')
  t.equal(ends.length, 1, 'one end')
  t.equal((ends[0]?.result as unknown[]).length, 2, 'both steps in the result')
  t.same(events, ['away dev-r 1006', 'resumed dev-r epoch 2 resent 1'], 'away, then resumed: no disconnect')
  t.notOk(endpoint.clientActivity('dev-r')?.away)
})

test('a takeover of a dead connection by a client granted resume keeps its sessions', async (t) => {
  const { wsUrl, endpoint } = await startServer(t, { agent: stepsAgent(1), resumeWindowMs: 60_000, takeoverProbeMs: 50 })
  const stale = await TestClient.connect(t, wsUrl, { autoPong: false })
  t.match(await stale.ask(continuityDevice('dev-t')), { type: 'heartbeat', status: 'ok' })
  const galaxy = await registeredConstellation(t, wsUrl, 'g-t', 'dev-t')
  await galaxy.ask(task('g-t', 'dev-t', 't@1'))
  const command = (await until(stale, (f) => f.type === 'command')).frame

  const fresh = await TestClient.connect(t, wsUrl)
  t.match((await fresh.ask(continuityDevice('dev-t'))).aip, { resumed: true })
  t.match(await fresh.next(), { type: 'command', response_id: command.response_id, [RESENT_FIELD]: true })
  fresh.send(results('dev-t', command))
  t.match((await until(galaxy, (f) => f.type === 'task_end')).frame, { status: 'completed' })
  t.equal(endpoint.sessionCount, 0)
})

test('a COMMAND the agent issues while its device is away waits, and goes out unmarked when the device resumes', async (t) => {
  let proceed!: () => void
  const gate = new Promise<void>((resolve) => { proceed = resolve })
  const { wsUrl, endpoint } = await startServer(t, {
    resumeWindowMs: 60_000,
    agent: async (_task, context) => {
      await gate
      await context.execute([{ tool_name: 'click', parameters: {}, tool_type: 'action' }])
      return { status: 'completed' }
    }
  })
  const first = await TestClient.connect(t, wsUrl)
  await first.ask(continuityDevice('dev-w'))
  const galaxy = await registeredConstellation(t, wsUrl, 'g-w', 'dev-w')
  await galaxy.ask(task('g-w', 'dev-w', 'w@1'))
  await dropConnection(endpoint, first)
  const ended = nextEvent(endpoint, 'commandEnd')
  proceed()
  const second = await TestClient.connect(t, wsUrl)
  t.match((await second.ask(continuityDevice('dev-w'))).aip, { resumed: true })
  const command = await second.next()
  t.equal(command.type, 'command')
  t.notOk(RESENT_FIELD in command, 'it was never sent before: not marked')
  second.send(results('dev-w', command))
  t.match(await ended, { status: 'ok' })
  t.match((await until(galaxy, (f) => f.type === 'task_end')).frame, { status: 'completed' })
})

test('a device resuming is sent the TASK_END of each of its sessions that ended while it was away', async (t) => {
  const { wsUrl, endpoint } = await startServer(t, { agent: stepsAgent(1), resumeWindowMs: 60_000 })
  const first = await TestClient.connect(t, wsUrl)
  await first.ask(continuityDevice('dev-m'))
  const galaxy = await registeredConstellation(t, wsUrl, 'g-m', 'dev-m')
  await galaxy.ask(task('g-m', 'dev-m', 'm@1'))
  await until(first, (f) => f.type === 'command')
  await dropConnection(endpoint, first)
  const ended = nextEvent(endpoint, 'taskEnd')
  t.ok(endpoint.cancelSession('m@1'), 'cancelled while the device is away')
  await ended
  t.match((await until(galaxy, (f) => f.type === 'task_end')).frame, { status: 'failed', session_id: 'm@1' })
  const second = await TestClient.connect(t, wsUrl)
  t.match((await second.ask(continuityDevice('dev-m'))).aip, { resumed: true, epoch: 2 })
  t.match(await second.next(), { type: 'task_end', status: 'failed', session_id: 'm@1' }, 'its copy, so that it stops the work')
  t.same(second.frames, [], 'no COMMAND: the session has ended')
})
