import { test } from 'tap'
import { CloseCode } from '@aip/endpoint'
import { Texts, type Agent } from '../src/index.js'
import { TestClient, registeredConstellation, registeredDevice, startServer, until } from './helpers/harness.js'

// An agent that runs one command and completes with its results.
const oneCommand: Agent = async (_task, context) => {
  const results = await context.execute([{ tool_name: 'click', parameters: {}, tool_type: 'action' }])
  return { status: 'completed', result: results.length }
}

function task (sessionId: string): Record<string, unknown> {
  return { type: 'task', status: 'continue', client_type: 'constellation', client_id: 'drain-galaxy', target_id: 'drain-dev', session_id: sessionId, task_name: sessionId, request: 'click' }
}

test('drain() refuses new tasks with a clear ERROR, lets the running one finish, and closes new connections with 1012', async (t) => {
  const { wsUrl, endpoint } = await startServer(t, { agent: oneCommand })
  const device = await registeredDevice(t, wsUrl, 'drain-dev')
  const galaxy = await registeredConstellation(t, wsUrl, 'drain-galaxy', 'drain-dev')
  t.match(await galaxy.ask(task('drain@1')), { type: 'heartbeat', status: 'ok', session_id: 'drain@1' })
  const command = await device.next()
  t.match(command, { type: 'command', session_id: 'drain@1' })

  const drained = endpoint.drain()
  t.equal(endpoint.stats().draining, true, 'stats() says the server drains')
  t.match(await galaxy.ask(task('drain@2')), { type: 'error', session_id: 'drain@2', error: Texts.serverDraining }, 'a new TASK is refused')
  await t.rejects(endpoint.dispatch('drain-dev', 'x'), { code: 'AIP_ERR_SERVER_DRAINING' }, 'dispatch is refused')
  const late = await TestClient.connect(t, wsUrl)
  t.equal((await late.closed).code, CloseCode.ServiceRestart, 'a new connection is closed with 1012')

  let finished = false
  drained.then(() => { finished = true }, () => {})
  device.send({ type: 'command_results', status: 'continue', client_type: 'device', client_id: 'drain-dev', session_id: 'drain@1', prev_response_id: command.response_id, action_results: [] })
  const { frame } = await until(galaxy, (f) => f.type === 'task_end')
  t.match(frame, { session_id: 'drain@1', status: 'completed' }, 'the running task ends normally')
  await drained
  t.ok(finished, 'drain() resolves once no task runs')
  t.equal(endpoint.sessionCount, 0)
})

test('drain(signal) resolves when the signal aborts while a task still runs', async (t) => {
  const { wsUrl, endpoint } = await startServer(t, { agent: oneCommand })
  const device = await registeredDevice(t, wsUrl, 'drain-dev')
  const galaxy = await registeredConstellation(t, wsUrl, 'drain-galaxy', 'drain-dev')
  await galaxy.ask(task('drain@3'))
  t.match(await device.next(), { type: 'command' })
  const controller = new AbortController()
  const drained = endpoint.drain(controller.signal)
  controller.abort()
  await drained
  t.equal(endpoint.sessionCount, 1, 'the task still runs: stop() is what cancels it')
  await endpoint.stop()
  t.match((await until(galaxy, (f) => f.type === 'task_end')).frame, { status: 'failed', error: Texts.serverShuttingDown })
})
