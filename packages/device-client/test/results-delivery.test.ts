import { test } from 'tap'
import { ReconnectionStrategy } from '@aip/resilience'
import { buildCommandResults } from '@aip/protocol'
import { Outbox, type DropReason } from '../src/outbox.js'
import { client, nextEvent, serverFrame, startScripted } from './helpers/net.js'

const fast = (): ReconnectionStrategy => new ReconnectionStrategy({ maxRetries: Infinity, initialBackoffMs: 10, maxBackoffMs: 50 })

test('results produced while disconnected are delivered after re-registration', async (t) => {
  const scripted = await startScripted(t)
  let release!: () => void
  const gate = new Promise<void>((resolve) => { release = resolve })
  const device = client(t, {
    wsUrl: scripted.wsUrl,
    clientId: 'dev1',
    reconnectionStrategy: fast(),
    tools: { wait: { handler: async () => { await gate; return 'done' } } }
  })
  const started = device.start()
  const first = await scripted.connection()
  await first.next()
  first.send(serverFrame({ type: 'heartbeat', status: 'ok' }))
  await started
  const command = serverFrame({
    type: 'command',
    status: 'continue',
    session_id: 's1',
    agent_name: 'HostAgent',
    actions: [{ tool_name: 'wait', parameters: {}, tool_type: 'action', call_id: 'call-1' }]
  })
  first.send(command)
  const disconnected = nextEvent(device, 'disconnected')
  first.ws.terminate()
  await disconnected
  release()
  await new Promise((resolve) => setTimeout(resolve, 20))
  const second = await scripted.connection()
  const sent = nextEvent(device, 'resultsSent')
  t.equal((await second.next()).type, 'register')
  second.send(serverFrame({ type: 'heartbeat', status: 'ok' }))
  const results = await second.next((frame) => frame.type === 'command_results')
  t.equal(results.prev_response_id, command.response_id, 'answers the COMMAND of the old connection')
  t.equal(results.session_id, 's1')
  t.same(results.action_results[0], { status: 'success', error: null, result: 'done', namespace: 'aip', call_id: 'call-1' })
  t.equal((await sent).sessionId, 's1')
  t.equal(device.pendingResults, 0)
})

test('a TASK_END for the session stops its tools and drops its results', async (t) => {
  const scripted = await startScripted(t)
  let aborted = false
  const device = client(t, {
    wsUrl: scripted.wsUrl,
    clientId: 'dev1',
    tools: {
      hang: { handler: (_p, ctx) => new Promise((resolve) => ctx.signal.addEventListener('abort', () => { aborted = true; resolve('late') })) }
    }
  })
  const started = device.start()
  const peer = await scripted.connection()
  await peer.next()
  peer.send(serverFrame({ type: 'heartbeat', status: 'ok' }))
  await started
  peer.send(serverFrame({ type: 'command', status: 'continue', session_id: 's9', actions: [{ tool_name: 'hang', parameters: {}, tool_type: 'action', call_id: 'c' }] }))
  await new Promise((resolve) => setTimeout(resolve, 20))
  const ended = nextEvent(device, 'taskEnd')
  peer.send(serverFrame({ type: 'task_end', status: 'failed', session_id: 's9', error: 'cancelled' }))
  t.same(await ended, { sessionId: 's9', status: 'failed', error: 'cancelled' })
  await new Promise((resolve) => setTimeout(resolve, 20))
  t.ok(aborted, 'the tool was told through its signal')
  t.notOk(peer.frames.some((frame) => frame.type === 'command_results'), 'no results for an ended session')
})

test('Outbox: bounded, ordered, aged, per-session drop, cleared on stop', async (t) => {
  let now = 0
  const dropped: Array<[string | null, DropReason]> = []
  const outbox = new Outbox({ maxEntries: 2, maxAgeMs: 100, now: () => now, onDrop: (entry, reason) => dropped.push([entry.message.prev_response_id, reason]) })
  const message = (id: string, sessionId = 's'): ReturnType<typeof buildCommandResults> =>
    buildCommandResults({ clientId: 'd', sessionId, prevResponseId: id, results: [] })
  outbox.push(message('a'))
  outbox.push(message('b'))
  outbox.push(message('c'))
  t.same(dropped, [['a', 'overflow']], 'the oldest goes first')
  now = 50
  const taken = outbox.take()
  t.same(taken.map((e) => e.message.prev_response_id), ['b', 'c'])
  outbox.requeue(taken)
  t.equal(outbox.size, 2)
  now = 200
  t.same(outbox.take(), [], 'too old to deliver')
  t.same(dropped.slice(1), [['b', 'expired'], ['c', 'expired']])
  outbox.push(message('d', 'x'))
  outbox.push(message('e', 'y'))
  outbox.endSession('x')
  t.same(dropped.at(-1), ['d', 'session_ended'])
  outbox.requeue([...outbox.take(), { message: message('f'), sessionId: 's', queuedAt: now }, { message: message('g'), sessionId: 's', queuedAt: now }])
  t.same(dropped.at(-1), ['e', 'overflow'], 'requeue is bounded too')
  outbox.clear()
  t.same(dropped.slice(-2), [['f', 'stopped'], ['g', 'stopped']])
  t.equal(outbox.size, 0)
})
