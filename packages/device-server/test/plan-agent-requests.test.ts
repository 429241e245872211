import { test } from 'tap'
import type { Command, Result } from '@aip/protocol'
import { planAgent, type AgentContext, type AgentTask } from '../src/index.js'

// planAgent reads a request as a JSON plan only when it is a JSON array or object (after JSON whitespace); any other
// request runs the one `list_tools` command, without a failed JSON.parse per task.

function run (request: string): Promise<readonly Command[]> {
  let seen: readonly Command[] = []
  const context = {
    signal: new AbortController().signal,
    logger: { debug () {}, info () {}, warn () {}, error () {} },
    systemInfo: null,
    execute: async (commands: readonly Command[]): Promise<Result[]> => {
      seen = commands
      return commands.map(() => ({ status: 'success' as const }))
    }
  } satisfies AgentContext
  const task: AgentTask = { sessionId: 's', taskName: 't', request, requesterId: 'c', deviceId: 'd', platform: null, metadata: null }
  return planAgent(task, context).then(() => seen)
}

const LIST_TOOLS = [{ tool_name: 'list_tools', parameters: {}, tool_type: 'data_collection' }]

test('a request that is not a JSON array or object runs list_tools', async (t) => {
  for (const request of ['bench', 'do the thing', '"a string"', '42', 'null', 'true', '', '   ', '[not json', '{oops']) {
    t.same(await run(request), LIST_TOOLS, JSON.stringify(request))
  }
})

test('a plan after JSON whitespace is read, as an array or under commands', async (t) => {
  const plan = [{ tool_name: 'click', parameters: { x: 1 }, tool_type: 'action' }]
  t.same(await run(` \n\t\r${JSON.stringify(plan)}`), plan)
  t.same(await run(`\n${JSON.stringify({ commands: plan })}`), plan)
  t.same(await run('[]'), LIST_TOOLS, 'an empty plan is no plan')
})
