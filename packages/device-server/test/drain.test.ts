import { test } from 'tap'
import { CloseCode } from '@aip/endpoint'
import { type Agent } from '../src/index.js'
import { Texts } from '../src/internal.js'
import { TestClient, registeredConstellation, registeredDevice, startServer, until } from './helpers/harness.js'

// An agent that runs one command and completes with its results.
const oneCommand: Agent = async (_task, context) => {
  const results = await context.execute([{ tool_name: 'click', parameters: {}, tool_type: 'action' }])
  return { status: 'completed', result: results.length }
}

function task (sessionId: string): Record<string, unknown> {
  return { type: 'task', status: 'continue', client_type: 'constellation', client_id: 'drain-galaxy', target_id: 'drain-dev', session_id: sessionId, task_name: sessionId, request: 'click' }
}

test('drain() refuses new tasks with a clear ERROR and new connections with 1012, lets the running task finish, then closes with 1012 and the reconnect hint', async (t) => {
  const { wsUrl, endpoint } = await startServer(t, { agent: oneCommand })
  const device = await registeredDevice(t, wsUrl, 'drain-dev')
  const galaxy = await registeredConstellation(t, wsUrl, 'drain-galaxy', 'drain-dev')
  t.match(await galaxy.ask(task('drain@1')), { type: 'heartbeat', status: 'ok', session_id: 'drain@1' })
  const command = await device.next()
  t.match(command, { type: 'command', session_id: 'drain@1' })

  const drained = endpoint.drain({ deadlineMs: 10_000 })
  t.equal(endpoint.stats().draining, true, 'stats() says the server drains')
  t.match(await galaxy.ask(task('drain@2')), { type: 'error', session_id: 'drain@2', error: Texts.serverDraining }, 'a new TASK is refused')
  await t.rejects(endpoint.dispatch('drain-dev', 'x'), { code: 'AIP_ERR_SERVER_DRAINING', statusCode: 503 }, 'dispatch is refused')
  const late = await TestClient.connect(t, wsUrl)
  t.equal((await late.closed).code, CloseCode.ServiceRestart, 'a new connection is closed with 1012')

  device.send({ type: 'command_results', status: 'continue', client_type: 'device', client_id: 'drain-dev', session_id: 'drain@1', prev_response_id: command.response_id, action_results: [] })
  const { frame } = await until(galaxy, (f) => f.type === 'task_end')
  t.match(frame, { session_id: 'drain@1', status: 'completed' }, 'the running task ends normally')
  t.same(await drained, { finished: 1, cancelled: 0 })
  t.same(await galaxy.closed, { code: CloseCode.ServiceRestart, reason: 'aip-drain retry-ms=5000' }, 'then every client is told to reconnect elsewhere (1012, with the hint)')
  t.same(await device.closed, { code: CloseCode.ServiceRestart, reason: 'aip-drain retry-ms=5000' })
  t.same(await endpoint.drain(), { finished: 0, cancelled: 0 }, 'a second drain has nothing to do')
})

test('at the deadline, drain() cancels what still runs; a signal ends the wait as well', async (t) => {
  const { wsUrl, endpoint } = await startServer(t, { agent: oneCommand })
  const device = await registeredDevice(t, wsUrl, 'drain-dev')
  const galaxy = await registeredConstellation(t, wsUrl, 'drain-galaxy', 'drain-dev')
  await galaxy.ask(task('drain@3'))
  t.match(await device.next(), { type: 'command' })
  t.same(await endpoint.drain({ deadlineMs: 20 }), { finished: 0, cancelled: 1 })
  t.match((await until(galaxy, (f) => f.type === 'task_end')).frame, { status: 'failed', error: Texts.serverShuttingDown }, 'the requester is told')

  const other = await startServer(t, { agent: oneCommand })
  const device2 = await registeredDevice(t, other.wsUrl, 'drain-dev')
  const galaxy2 = await registeredConstellation(t, other.wsUrl, 'drain-galaxy', 'drain-dev')
  await galaxy2.ask(task('drain@4'))
  t.match(await device2.next(), { type: 'command' })
  const controller = new AbortController()
  const drained = other.endpoint.drain({ signal: controller.signal })
  controller.abort()
  t.same(await drained, { finished: 0, cancelled: 1 })
  t.same(await other.endpoint.drain({ signal: AbortSignal.abort() }), { finished: 0, cancelled: 0 })
  await t.rejects(other.endpoint.drain({ deadlineMs: -1 }), { code: 'AIP_ERR_INVALID_OPTION' })
})
