import { test } from 'tap'
import { silentLogger } from '@aip/resilience'
import type { DecodedClientMessage, DecodedServerMessage } from '@aip/protocol'
import { CommandRunner } from '../src/command-runner.js'
import type { CommandExecutor } from '../src/executor.js'

function command (fields: Partial<DecodedServerMessage>): DecodedServerMessage {
  return {
    type: 'command',
    status: 'continue',
    user_request: null,
    agent_name: null,
    process_name: null,
    root_name: null,
    actions: null,
    messages: null,
    error: null,
    session_id: 's1',
    task_name: null,
    timestamp: null,
    response_id: null,
    result: null,
    ...fields
  }
}

test('an executor that throws fails every Command of the COMMAND with its text, echoing each call id', async (t) => {
  const delivered: DecodedClientMessage[] = []
  const executor: CommandExecutor = { execute: async () => { throw new Error('boom') } }
  const runner = new CommandRunner({ executor, clientId: 'dev1', log: silentLogger, deliver: (m) => delivered.push(m), onError: (err) => t.error(err) })
  runner.run(command({
    response_id: 'r1',
    actions: [{ tool_name: 'a', parameters: null, tool_type: 'action', call_id: 'c1' }, { tool_name: 'b', parameters: null, tool_type: 'action', call_id: null }]
  }))
  runner.run(command({ session_id: 's2' }))
  await new Promise((resolve) => setTimeout(resolve, 10))
  t.equal(delivered.length, 2)
  t.match(delivered[0], { prev_response_id: 'r1', action_results: [{ status: 'failure', error: 'boom', call_id: 'c1' }, { status: 'failure', call_id: null }] })
  t.match(delivered[1], { session_id: 's2', prev_response_id: '', action_results: [] }, 'a COMMAND without actions and without a response id')
})

test('a session that ends aborts its running Commands and delivers nothing; ending an unknown session does nothing', async (t) => {
  const delivered: DecodedClientMessage[] = []
  let started!: () => void
  const running = new Promise<void>((resolve) => { started = resolve })
  const executor: CommandExecutor = {
    execute: async (_commands, context) => {
      t.equal(context.traceparent, null, 'no trace context on a plain COMMAND')
      started()
      await new Promise((resolve) => context.signal.addEventListener('abort', resolve, { once: true }))
      return []
    }
  }
  const runner = new CommandRunner({ executor, clientId: 'dev1', log: silentLogger, deliver: (m) => delivered.push(m), onError: (err) => t.error(err) })
  runner.endSession('nobody')
  runner.run(command({ actions: [] }))
  await running
  runner.endSession('s1')
  runner.run(command({ session_id: 's3', actions: [] }))
  runner.abortAll(new Error('stop'))
  await new Promise((resolve) => setTimeout(resolve, 10))
  t.equal(delivered.length, 0, 'an ended or aborted session delivers nothing')
})
