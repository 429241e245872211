import { planAgent, TaskFailedError, type Agent } from '@aip/device-server'
import type { MCPToolInfo, Result } from '@aip/protocol'

/**
 * The `auto` agent of `aip serve`, which finishes a task on any device:
 * 1. a request that is a JSON command plan (`[{ "tool_name", "parameters" }]` or `{ "commands": [...] }`) runs as
 *    one COMMAND (see {@link planAgent});
 * 2. otherwise the agent asks the device for its tools (`list_tools`) and, when the request starts with the name
 *    of one of them, runs it with the rest of the request as parameters (a JSON object, or `{ "text": rest }`);
 * 3. otherwise the task completes with the tool list as its result, which is what a device that only answers
 *    (the Python reference with stub tools) gives back.
 * The task fails when a command fails.
 */
export const autoAgent: Agent = async (task, context) => {
  if (isPlan(task.request)) return await planAgent(task, context)
  const [listing] = await context.execute([{ tool_name: 'list_tools', parameters: {}, tool_type: 'data_collection' }])
  const tools = toolNames(listing)
  const [first = '', ...rest] = task.request.trim().split(/\s+/)
  const name = tools.find((tool) => tool === first)
  if (name === undefined) return { status: 'completed', result: { tools, listing: listing?.result ?? null } }
  const [result] = await context.execute([{ tool_name: name, parameters: parameters(rest.join(' ')), tool_type: 'action' }])
  if (result?.status !== 'success') throw new TaskFailedError(result?.error ?? `${name} failed`)
  return { status: 'completed', result: { tool: name, result: result.result ?? null } }
}

/** The agents `aip serve --agent` accepts. */
export const AGENTS: Readonly<Record<string, Agent>> = { auto: autoAgent, plan: planAgent }

function isPlan (request: string): boolean {
  const trimmed = request.trim()
  return trimmed.startsWith('[') || trimmed.startsWith('{')
}

function toolNames (listing: Result | undefined): string[] {
  const value = listing?.status === 'success' ? listing.result : null
  if (!Array.isArray(value)) return []
  return value
    .filter((tool): tool is MCPToolInfo => typeof tool === 'object' && tool !== null && typeof (tool as MCPToolInfo).tool_name === 'string')
    .map((tool) => tool.tool_name)
}

function parameters (rest: string): Record<string, unknown> {
  if (rest === '') return {}
  try {
    const value = JSON.parse(rest) as unknown
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>
  } catch {}
  return { text: rest }
}
