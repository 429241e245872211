import { test } from 'tap'
import { startScripted } from './helpers/net.js'
import { commandFrame, registeredDevice } from './helpers/continuity.js'
import type { ToolSet } from '../src/index.js'

/** A tool that runs until its signal aborts, and reports the abort reason. */
function waitingTool (aborted: (reason: unknown) => void): ToolSet {
  return {
    wait: {
      handler: (_params, ctx) => new Promise((resolve) => {
        ctx.signal.addEventListener('abort', () => { aborted(ctx.signal.reason); resolve('too late') }, { once: true })
      })
    }
  }
}

test('a COMMAND deadline (aip_timeout_ms, deadline granted) aborts the running tool and answers failure', async (t) => {
  const scripted = await startScripted(t)
  let reason: unknown
  const { device, peer } = await registeredDevice(t, scripted, { tools: waitingTool((r) => { reason = r }) })
  const timedOut = new Promise<Record<string, unknown>>((resolve) => device.on('commandTimedOut', (event) => resolve({ ...event })))
  peer.send(commandFrame({ responseId: 'r1', actions: [{ tool_name: 'wait', call_id: 'a' }, { tool_name: 'wait', call_id: 'b' }], timeoutMs: 30 }))
  const results = await peer.next((frame) => frame.type === 'command_results')
  t.same(results.action_results.map((r: Record<string, unknown>) => [r.status, r.error, r.call_id]), [
    ['failure', 'The COMMAND timed out after 30 ms', 'a'],
    ['failure', 'The COMMAND timed out after 30 ms', 'b']
  ])
  t.match(reason, { code: 'AIP_ERR_DEVICE_COMMAND_TIMEOUT' }, "the tool's signal aborted with the deadline's error")
  t.same(await timedOut, { sessionId: 's1', responseId: 'r1', resent: false, timeoutMs: 30 })
})

test('a COMMAND that ends before its deadline is answered as usual', async (t) => {
  const scripted = await startScripted(t)
  const { peer } = await registeredDevice(t, scripted, { tools: { quick: { handler: () => 'ok' } } })
  peer.send(commandFrame({ responseId: 'r1', actions: [{ tool_name: 'quick' }], timeoutMs: 60_000 }))
  const results = await peer.next((frame) => frame.type === 'command_results')
  t.same(results.action_results.map((r: Record<string, unknown>) => [r.status, r.result]), [['success', 'ok']])
})

test('aip_timeout_ms is ignored without a deadline grant, and with continuity: false', async (t) => {
  for (const [options, grant] of [[{}, { capabilities: ['resume', 'cancel'] }], [{ continuity: false }, null]] as const) {
    const scripted = await startScripted(t)
    const { peer } = await registeredDevice(t, scripted, {
      ...options,
      tools: { slowish: { handler: async (_params, ctx) => { await new Promise((resolve) => setTimeout(resolve, 40)); return ctx.signal.aborted } } }
    }, grant === null ? null : { capabilities: [...grant.capabilities] })
    peer.send(commandFrame({ responseId: 'r1', actions: [{ tool_name: 'slowish' }], timeoutMs: 1 }))
    const results = await peer.next((frame) => frame.type === 'command_results')
    t.same(results.action_results.map((r: Record<string, unknown>) => [r.status, r.result]), [['success', false]], 'ran to its end, never aborted')
  }
})

test('a deadline counts from the arrival: one that passed while the COMMAND waited in its session is failed unrun', async (t) => {
  const scripted = await startScripted(t)
  let counted = 0
  const { device, peer } = await registeredDevice(t, scripted, {
    tools: {
      busy: { handler: async () => { await new Promise((resolve) => setTimeout(resolve, 50)); return 'busy done' } },
      count: { handler: () => ++counted }
    }
  })
  const executed: string[] = []
  device.on('commandExecuted', ({ responseId }) => executed.push(String(responseId)))
  peer.send(commandFrame({ responseId: 'r1', actions: [{ tool_name: 'busy' }] }))
  peer.send(commandFrame({ responseId: 'r2', actions: [{ tool_name: 'count' }], timeoutMs: 1 }))
  const results = await peer.next((frame) => frame.type === 'command_results' && frame.prev_response_id === 'r2')
  t.same(results.action_results.map((r: Record<string, unknown>) => [r.status, r.error]), [['failure', 'The COMMAND timed out after 1 ms']])
  t.equal(counted, 0, 'the tool never ran')
  t.same(executed, ['r1'], 'only the first COMMAND was executed')
})
