import { createHook } from 'node:async_hooks'
import { fileURLToPath } from 'node:url'
import { test } from 'tap'
import { CloseCode, createLinkedTransports, type CloseInfo } from '@aip/endpoint'
import { type Agent } from '../src/index.js'
import { Texts } from '../src/internal.js'
import { TestClient, registeredConstellation, registeredDevice, startServer, until } from './helpers/harness.js'

const SRC = fileURLToPath(new URL('../src/', import.meta.url))

/** Tracks the timers created by the package's own code (src/), until they fire or are cleared. */
function trackSourceTimers (t: { teardown: (fn: () => unknown) => void }): Map<number, string> {
  const live = new Map<number, string>()
  const hook = createHook({
    init (asyncId, type) {
      if (type !== 'Timeout') return
      const limit = Error.stackTraceLimit
      Error.stackTraceLimit = 30
      const stack = new Error('timer created').stack ?? ''
      Error.stackTraceLimit = limit
      if (stack.includes(SRC)) live.set(asyncId, stack)
    },
    destroy (asyncId) {
      live.delete(asyncId)
    }
  })
  hook.enable()
  t.teardown(() => { hook.disable() })
  return live
}

/** Destroy hooks run from the event loop, after the timer is cleared: let them run (bounded). */
async function drained (live: Map<number, string>, turns = 20): Promise<number> {
  for (let turn = 0; turn < turns && live.size > 0; turn++) await new Promise((resolve) => setImmediate(resolve))
  return live.size
}

// An agent that waits for the results of a command the device never answers.
const waitingAgent: Agent = async (_task, context) => {
  await context.execute([{ tool_name: 'click', parameters: { x: 1 }, tool_type: 'action' }])
  return { status: 'completed' }
}

test('stop() ends running tasks with TASK_END failed, closes every socket with 1001 and refuses new upgrades', async (t) => {
  const live = trackSourceTimers(t)
  const { wsUrl, endpoint } = await startServer(t, { agent: waitingAgent, pingIntervalMs: 1_000, registrationTimeoutMs: 5_000 })
  const device = await registeredDevice(t, wsUrl, 'stop-dev')
  const galaxy = await registeredConstellation(t, wsUrl, 'stop-galaxy', 'stop-dev')
  const ack = await galaxy.ask({
    type: 'task', status: 'continue', client_type: 'constellation', client_id: 'stop-galaxy', target_id: 'stop-dev', session_id: 'stop@1', task_name: 'stop', request: 'click'
  })
  t.match(ack, { type: 'heartbeat', status: 'ok', session_id: 'stop@1' })
  t.match(await device.next(), { type: 'command', session_id: 'stop@1' }, 'the agent waits on a command never answered')
  const unclaimed = await endpoint.dispatch('stop-dev', 'never taken up')
  t.match(await device.next(), { type: 'task', session_id: unclaimed.sessionId })
  t.equal(endpoint.sessionCount, 1)
  t.ok(live.size > 0, 'timers run while clients are connected and a command waits')

  await endpoint.stop()
  t.pass('stop resolved')

  const { frame: end } = await until(galaxy, (frame) => frame.type === 'task_end')
  t.match(end, { type: 'task_end', status: 'failed', session_id: 'stop@1', error: Texts.serverShuttingDown })
  t.equal(end.error, 'The server is shutting down')
  t.match(await device.next(), { type: 'task_end', status: 'failed', session_id: 'stop@1', response_id: end.response_id }, 'the device gets the same TASK_END')
  t.match(await galaxy.closed, { code: CloseCode.GoingAway, reason: Texts.serverShuttingDown }, 'the constellation closed with 1001')
  t.match(await device.closed, { code: CloseCode.GoingAway }, 'the device closed with 1001')
  await t.rejects(unclaimed.done, 'a dispatch the device never took up rejects')

  t.equal(endpoint.connectionCount, 0, 'no connection left')
  t.equal(endpoint.sessionCount, 0, 'no session left')
  t.match(endpoint.getResult('stop@1'), { status: 'failed', error: Texts.serverShuttingDown }, 'the record is kept')
  t.equal(await drained(live), 0, 'no timer of the server is left')
  t.same([...live.values()], [])

  t.equal(await TestClient.refusedStatus(wsUrl), 503, 'a new upgrade gets 503')
  await t.rejects(endpoint.dispatch('stop-dev', 'x'), { code: 'AIP_ERR_SERVER_STOPPED' })
  const [client, server] = createLinkedTransports()
  const closed = new Promise<CloseInfo>((resolve) => client.on('close', resolve))
  endpoint.handleTransport(server)
  t.match(await closed, { code: CloseCode.GoingAway }, 'a transport handed over after stop is closed with 1001')
  await endpoint.stop()
  t.pass('a second stop resolves at once')
})

test('stop() closes connections that never registered and clears their deadline', async (t) => {
  const live = trackSourceTimers(t)
  const { wsUrl, endpoint } = await startServer(t, { registrationTimeoutMs: 60_000, pingIntervalMs: 60_000 })
  const pending = await TestClient.connect(t, wsUrl)
  t.equal(endpoint.connectionCount, 1)
  await endpoint.stop()
  t.match(await pending.closed, { code: CloseCode.GoingAway })
  t.same(pending.frames, [], 'no frame before the close')
  t.equal(endpoint.connectionCount, 0)
  t.equal(await drained(live), 0, 'the registration deadline and the ping timer are cleared')
})

test('stop() with nothing connected resolves', async (t) => {
  const { endpoint } = await startServer(t)
  await endpoint.stop()
  t.equal(endpoint.connectionCount, 0)
  t.equal(endpoint.sessionCount, 0)
})
