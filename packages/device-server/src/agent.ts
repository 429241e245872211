import type { Command, DeviceSystemInfo, Result } from '@aip/protocol'
import type { Logger } from '@aip/endpoint'

/** The task an agent runs. */
export interface AgentTask {
  readonly sessionId: string
  /** The sanitised task name (`[A-Za-z0-9._-]` only). */
  readonly taskName: string
  /** What the requester asked for. */
  readonly request: string
  /** The client that sent the TASK (a constellation, or the device itself). */
  readonly requesterId: string
  /** The device that executes the commands. */
  readonly deviceId: string
  /** `metadata.platform` of the device's registration. */
  readonly platform: string | null
  /** The `metadata` of the TASK. */
  readonly metadata: Readonly<Record<string, unknown>> | null
  /**
   * The W3C `traceparent` of the task's span (under the TASK's `metadata.traceparent` when it has one). The server
   * always sets it; optional so that code calling an agent directly need not invent one.
   */
  readonly traceparent?: string
}

/** Options of one {@link AgentContext.execute} call. */
export interface ExecuteOptions {
  /** Stops waiting (the task's own signal always applies as well). */
  signal?: AbortSignal
  /** Fails the call when no results arrive within this time. Default: the server's `commandTimeoutMs`. */
  timeoutMs?: number
  /** `agent_name` of the COMMAND; the reference device ignores a COMMAND for an agent it does not know. */
  agentName?: string
  processName?: string | null
  rootName?: string | null
}

/** What the server gives an agent to run its task with. */
export interface AgentContext {
  /** Aborted when the device or the requester goes away, or the server stops. `signal.reason` says why. */
  readonly signal: AbortSignal
  readonly logger: Logger
  /** The device's registration telemetry. */
  readonly systemInfo: DeviceSystemInfo | Record<string, unknown> | null
  /**
   * Sends one COMMAND with these commands to the device and resolves with its Results, one per command in order.
   * Rejects with `AIP_ERR_SERVER_COMMAND_TIMEOUT` or `AIP_ERR_SERVER_SESSION_CANCELLED`. Every call is recorded
   * as a step of the task's result.
   */
  execute: (commands: readonly Command[], options?: ExecuteOptions) => Promise<Result[]>
}

/** How a task ended, as the agent reports it. */
export interface AgentOutcome {
  status: 'completed' | 'failed'
  /** The TASK_END `result`. Default: the recorded steps, `[{ request, result: Result[] }, ...]` as the reference sends. */
  result?: unknown
  /** Why the task failed (sent to the requester). */
  error?: string | null
}

/**
 * The function the server runs for every task. This is where UFO runs its LLM loop. Throw `TaskFailedError` to
 * fail with a message the requester may read; any other error fails the task with a generic text.
 */
export type Agent = (task: AgentTask, context: AgentContext) => Promise<AgentOutcome>

/**
 * An agent that reads the request as a JSON command plan — `[{ "tool_name": ..., "parameters": {...} }, ...]` or
 * `{ "commands": [...] }` — runs it as one COMMAND, and completes when every Result is a success. A request that
 * is not a plan runs one `list_tools` data-collection command, which every reference device answers.
 */
export const planAgent: Agent = async (task, context) => {
  const commands = parsePlan(task.request) ?? [{ tool_name: 'list_tools', parameters: {}, tool_type: 'data_collection' }]
  const results = await context.execute(commands)
  const failed = results.find((result) => result.status === 'failure')
  return failed === undefined
    ? { status: 'completed' }
    : { status: 'failed', error: failed.error ?? `${failed.call_id ?? 'a command'} failed` }
}

/** JSON's whitespace: space, tab, line feed, carriage return. */
function jsonSpace (code: number): boolean {
  return code === 32 || code === 9 || code === 10 || code === 13
}

function parsePlan (request: string): Command[] | null {
  // Only an array or an object can be a plan: any other request (plain text, the usual case) is told apart without
  // a JSON.parse that throws (an exception and its stack trace per task).
  let start = 0
  while (start < request.length && jsonSpace(request.charCodeAt(start))) start++
  const first = request.charCodeAt(start)
  if (first !== 91 && first !== 123) return null
  let value: unknown
  try {
    value = JSON.parse(request)
  } catch {
    return null
  }
  const list = Array.isArray(value) ? value : (value as { commands?: unknown } | null)?.commands
  if (!Array.isArray(list) || list.length === 0) return null
  const commands: Command[] = []
  for (const item of list as unknown[]) {
    if (typeof item !== 'object' || item === null) return null
    const { tool_name: toolName, parameters, tool_type: toolType } = item as Record<string, unknown>
    if (typeof toolName !== 'string') return null
    commands.push({
      tool_name: toolName,
      parameters: typeof parameters === 'object' && parameters !== null && !Array.isArray(parameters) ? parameters as Record<string, unknown> : {},
      tool_type: toolType === 'data_collection' ? 'data_collection' : 'action'
    })
  }
  return commands
}
