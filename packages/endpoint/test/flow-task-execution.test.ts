import t from 'tap'
import {
  buildCommand, buildServerError, buildTaskAck, buildTaskEnd, buildTaskRequest, type DecodedClientMessage
} from '@aip/protocol'
import { answerCommands, runTask } from '../src/flows/task-execution.js'
import { keepAlive, linkedProtocols } from './helpers.js'

const task = (sessionId?: string): ReturnType<typeof buildTaskRequest> =>
  buildTaskRequest({ clientId: 'c', clientType: 'constellation', request: 'do it', targetId: 'dev1', ...(sessionId === undefined ? {} : { sessionId }) })

t.test('a task resolves with the TASK_END of its session, after the ack', async (t) => {
  const { client, server } = linkedProtocols()
  t.teardown(() => client.close())
  server.onMessage('task', async (message) => {
    await server.send(buildTaskAck({ sessionId: message.session_id as string }))
    await server.send(buildTaskEnd({ sessionId: 'other', status: 'failed' }))
    await server.send(buildTaskEnd({ sessionId: message.session_id as string, status: 'completed', result: { ok: 1 } }))
  })
  const acks: string[] = []
  const end = await runTask(client, task('t@1'), { onAck: (ack) => { acks.push(ack.session_id as string) } })
  t.equal(end.status, 'completed')
  t.same(end.result, { ok: 1 })
  t.same(acks, ['t@1'])
})

t.test('a task without session_id follows the session the server chose', async (t) => {
  const { client, server } = linkedProtocols()
  t.teardown(() => client.close())
  server.onMessage('task', async () => {
    await server.send(buildTaskAck({ sessionId: 'server-chosen' }))
    await server.send(buildTaskEnd({ sessionId: 'server-chosen', status: 'failed', error: 'no' }))
  })
  const end = await runTask(client, task())
  t.equal(end.session_id, 'server-chosen')
  t.equal(end.status, 'failed')
})

t.test('an ERROR before the ack is a coded refusal with the server\'s text', async (t) => {
  const { client, server } = linkedProtocols()
  t.teardown(() => client.close())
  server.onMessage('task', async () => { await server.send(buildServerError({ error: "Target device 'dev1' is not connected" })) })
  await t.rejects(runTask(client, task('t@2')), { code: 'AIP_ERR_ENDPOINT_REQUEST_REFUSED', message: /not connected/ })
})

t.test('a missing ack or TASK_END rejects with the coded timeout', async (t) => {
  keepAlive(t)
  const { client, server } = linkedProtocols()
  t.teardown(() => client.close())
  await t.rejects(runTask(client, task('t@3'), { ackTimeoutMs: 5 }), { code: 'AIP_ERR_TIMEOUT', operation: 'task ack' })
  server.onMessage('task', async (m) => { await server.send(buildTaskAck({ sessionId: m.session_id as string })) })
  await t.rejects(runTask(client, task('t@4'), { timeoutMs: 10 }), { code: 'AIP_ERR_TIMEOUT', operation: 'task' })
  await t.rejects(runTask(client, task('t@5'), { timeoutMs: -1 }), { code: 'AIP_ERR_INVALID_ARGUMENT' })
})

t.test('a task is released by an abort and by a close', async (t) => {
  const { client, server } = linkedProtocols()
  const controller = new AbortController()
  controller.abort()
  await t.rejects(runTask(client, task('a'), { signal: controller.signal }), { code: 'AIP_ERR_ABORTED' })
  const later = new AbortController()
  const aborted = runTask(client, task('b'), { signal: later.signal })
  later.abort()
  await t.rejects(aborted, { code: 'AIP_ERR_ABORTED' })
  const pending = runTask(client, task('c'))
  server.close()
  await t.rejects(pending, { code: 'AIP_ERR_ENDPOINT_TRANSPORT_CLOSED' })
  await t.rejects(runTask(client, task('d')), { code: 'AIP_ERR_ENDPOINT_TRANSPORT_CLOSED' })
})

t.test('the device answers a COMMAND with one Result per Command, echoing call_id and response_id', async (t) => {
  const { client, server } = linkedProtocols()
  t.teardown(() => client.close())
  const stop = answerCommands(client, {
    clientId: 'dev1',
    execute: (commands) => commands.map((c) => ({ status: 'success' as const, result: c.tool_name, call_id: c.call_id ?? null }))
  })
  t.teardown(stop)
  const command = buildCommand({ sessionId: 's1', taskName: 't', actions: [{ tool_name: 'a', tool_type: 'action' as const }, { tool_name: 'b', tool_type: 'action' as const }] })
  const answer = server.receive('command_results')
  await server.send(command)
  const results: DecodedClientMessage = await answer
  t.equal(results.prev_response_id, command.response_id)
  t.equal(results.session_id, 's1')
  t.same(results.action_results?.map((r) => [r.result, r.call_id]), command.actions?.map((c) => [c.tool_name, c.call_id]))
})

t.test('a failing executor still answers, with failure Results', async (t) => {
  const { client, server } = linkedProtocols()
  t.teardown(() => client.close())
  t.teardown(answerCommands(client, { clientId: 'dev1', execute: () => { throw new Error('tool crashed') } }))
  const answer = server.receive('command_results')
  await server.send(buildCommand({ sessionId: 's1', taskName: 't', actions: [{ tool_name: 'a', tool_type: 'action' as const }] }))
  const results = await answer
  t.match(results.action_results, [{ status: 'failure', error: 'tool crashed' }])
})

t.test('a TASK_END aborts the commands of its session, which then send nothing', async (t) => {
  const { client, server } = linkedProtocols()
  t.teardown(() => client.close())
  let started!: () => void
  const running = new Promise<void>((resolve) => { started = resolve })
  const aborted = new Promise<void>((resolve) => {
    t.teardown(answerCommands(client, {
      clientId: 'dev1',
      execute: (_commands, { signal }) => new Promise((_resolve, reject) => {
        started()
        signal.addEventListener('abort', () => { resolve(); reject(new Error('aborted')) })
      })
    }))
  })
  let answered = 0
  server.onMessage('command_results', () => { answered++ })
  await server.send(buildCommand({ sessionId: 's1', taskName: 't', actions: [{ tool_name: 'slow', tool_type: 'action' as const }] }))
  await running
  await server.send(buildTaskEnd({ sessionId: 's1', status: 'failed' }))
  await aborted
  const hb = server.receive('heartbeat')
  await client.send({ type: 'heartbeat', status: 'ok', client_id: 'dev1' })
  await hb
  t.equal(answered, 0)
})
