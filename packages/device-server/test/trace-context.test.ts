import { test } from 'tap'
import { REFERENCE_SERVER_FIELDS } from '@aip/test-support'
import type { AgentTask } from '../src/index.js'
import { registeredConstellation, registeredDevice, startServer, until } from './helpers/harness.js'

// W3C trace context: a TASK's metadata.traceparent becomes the parent of the task's span; each COMMAND then
// carries the task span's traceparent (an extension field the reference ignores), and every log line of the task
// carries the trace id. A TASK without one (a Python constellation) gets reference COMMANDs.

const PARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736'

function capture (): { lines: Array<Record<string, unknown>>, logger: any } {
  const lines: Array<Record<string, unknown>> = []
  const write = (bindings: Record<string, unknown>) => (obj: Record<string, unknown>, msg?: string) => { lines.push({ ...bindings, ...obj, msg }) }
  const make = (bindings: Record<string, unknown>): any => ({
    debug: write(bindings),
    info: write(bindings),
    warn: write(bindings),
    error: write(bindings),
    child: (more: Record<string, unknown>) => make({ ...bindings, ...more })
  })
  return { lines, logger: make({}) }
}

test('a TASK with a traceparent: the agent, the COMMAND and the task log lines carry its trace', async (t) => {
  const seen: AgentTask[] = []
  const { lines, logger } = capture()
  const { wsUrl } = await startServer(t, {
    logger,
    agent: async (task, context) => {
      seen.push(task)
      context.logger.info({ step: 1 }, 'agent step')
      await context.execute([{ tool_name: 'click', parameters: {}, tool_type: 'action' }])
      return { status: 'completed' }
    }
  })
  const device = await registeredDevice(t, wsUrl, 'trace-dev')
  const galaxy = await registeredConstellation(t, wsUrl, 'trace-galaxy', 'trace-dev')
  const base = { type: 'task', status: 'continue', client_type: 'constellation', client_id: 'trace-galaxy', target_id: 'trace-dev', request: 'click' }
  await galaxy.ask({ ...base, session_id: 'trace@1', task_name: 'traced', metadata: { traceparent: PARENT } })
  const command = await device.next()
  t.match(command, { type: 'command', session_id: 'trace@1' })
  t.match(command.traceparent, new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`), 'the COMMAND carries the trace')
  t.not(command.traceparent, PARENT, 'under the server\'s task span, not the constellation\'s')
  t.same(Object.keys(command).slice(0, 14), [...REFERENCE_SERVER_FIELDS], 'the 14 reference fields first, in order')
  t.match(seen[0]?.traceparent, new RegExp(`^00-${TRACE_ID}-`), 'the agent sees the task span')
  t.equal(command.traceparent, seen[0]?.traceparent, 'the COMMAND names the task span itself')
  device.send({ type: 'command_results', status: 'continue', client_type: 'device', client_id: 'trace-dev', session_id: 'trace@1', prev_response_id: command.response_id, action_results: [] })
  await until(galaxy, (f) => f.type === 'task_end')
  const taskLines = lines.filter((line) => line.sessionId === 'trace@1')
  t.ok(taskLines.length >= 3, 'task started, agent step, task ended')
  t.ok(taskLines.every((line) => line.traceId === TRACE_ID), 'every line of the task carries the trace id')

  await galaxy.ask({ ...base, session_id: 'trace@2', task_name: 'plain' })
  const plain = await device.next()
  t.same(Object.keys(plain), [...REFERENCE_SERVER_FIELDS], 'without a traceparent, a reference COMMAND')
  t.match(seen[1]?.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/, 'the task still has a trace of its own')
})
