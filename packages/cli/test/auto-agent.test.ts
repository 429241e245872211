import { test } from 'tap'
import type { AgentContext, AgentTask } from '@aip/device-server'
import type { Command, Result } from '@aip/protocol'
import { autoAgent } from '../src/index.js'

const TASK: AgentTask = { sessionId: 's', taskName: 't', request: '', requesterId: 'c', deviceId: 'd', platform: null, metadata: null }

function context (answer: (commands: readonly Command[]) => Result[]): AgentContext & { sent: Command[][] } {
  const sent: Command[][] = []
  return {
    sent,
    signal: new AbortController().signal,
    logger: { debug () {}, info () {}, warn () {}, error () {} },
    systemInfo: null,
    execute: async (commands) => { sent.push([...commands]); return answer(commands) }
  }
}

const tools = [{ tool_key: 'aip.echo', tool_name: 'echo', namespace: 'aip', tool_type: 'action' }]

test('runs the tool the request names, with JSON or text parameters', async (t) => {
  const ctx = context((commands) => commands[0]?.tool_name === 'list_tools'
    ? [{ status: 'success', result: tools }]
    : [{ status: 'success', result: commands[0]?.parameters }])
  t.same(await autoAgent({ ...TASK, request: 'echo {"x":1}' }, ctx), { status: 'completed', result: { tool: 'echo', result: { x: 1 } } })
  t.same(await autoAgent({ ...TASK, request: 'echo hello there' }, ctx), { status: 'completed', result: { tool: 'echo', result: { text: 'hello there' } } })
  t.same(ctx.sent.map((c) => c[0]?.tool_name), ['list_tools', 'echo', 'list_tools', 'echo'])
})

test('completes with the tool list when the request names no tool (any device, the Python stub included)', async (t) => {
  const stub = context(() => [{ status: 'success', result: { echo: 'list_tools', params: {} } }])
  const outcome = await autoAgent({ ...TASK, request: 'Open Notepad' }, stub)
  t.same(outcome, { status: 'completed', result: { tools: [], listing: { echo: 'list_tools', params: {} } } })
})

test('fails when the named tool fails; runs a JSON plan as one COMMAND', async (t) => {
  const failing = context((commands) => commands[0]?.tool_name === 'list_tools' ? [{ status: 'success', result: tools }] : [{ status: 'failure', error: 'boom' }])
  await t.rejects(autoAgent({ ...TASK, request: 'echo' }, failing), { code: 'AIP_ERR_SERVER_TASK_FAILED', message: 'boom' })
  const plan = context((commands) => commands.map(() => ({ status: 'success' as const })))
  t.same(await autoAgent({ ...TASK, request: '[{"tool_name":"a"},{"tool_name":"b"}]' }, plan), { status: 'completed' })
  t.same(plan.sent[0]?.map((c) => c.tool_name), ['a', 'b'])
})
