import { TaskFailedError, type Agent } from '@aip/device-server'

/** The fuzz server's agent: one COMMAND with a short deadline, so that sessions started by fuzzed TASKs end soon. */
export const fuzzAgent: Agent = async (_task, ctx) => {
  const results = await ctx.execute([{ tool_name: 'echo', parameters: {}, tool_type: 'action' }], { timeoutMs: 200 })
  if (results.some((r) => r.status !== 'success')) throw new TaskFailedError('a step failed')
  return { status: 'completed' }
}
