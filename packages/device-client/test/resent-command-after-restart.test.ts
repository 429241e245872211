import { test } from 'tap'
import { startScripted } from './helpers/net.js'
import { commandFrame, executions, registeredDevice } from './helpers/continuity.js'

const RESTARTED = 'The device restarted while the command was in flight; its actions were not run again'

test('after a process restart (first registration, resumed) a re-sent action COMMAND is answered failure, not run', async (t) => {
  const scripted = await startScripted(t)
  let clicks = 0
  const { device, peer } = await registeredDevice(t, scripted, { tools: { click: { handler: () => ++clicks } } }, { resumed: true })
  const counts = executions(device)
  const notRun = new Promise<Record<string, unknown>>((resolve) => device.on('commandNotRun', (event) => resolve({ ...event })))
  peer.send(commandFrame({ responseId: 'r1', actions: [{ tool_name: 'click', call_id: 'a' }, { tool_name: 'click', call_id: 'b' }], resent: true }))
  const results = await peer.next((frame) => frame.type === 'command_results')
  t.equal(results.prev_response_id, 'r1')
  t.same(results.action_results.map((r: Record<string, unknown>) => [r.status, r.error, r.call_id]), [['failure', RESTARTED, 'a'], ['failure', RESTARTED, 'b']],
    'one failure per Command, echoing its call_id')
  t.equal(clicks, 0, 'the action never ran')
  t.equal(counts.size, 0, 'no commandExecuted')
  t.same(await notRun, { sessionId: 's1', responseId: 'r1', resent: true, reason: 'restarted' })

  peer.send(commandFrame({ responseId: 'r1', actions: [{ tool_name: 'click' }], resent: true }))
  const again = await peer.next((frame) => frame.type === 'command_results')
  t.same(again, results, 'sent again: the same answer, from the cache')

  peer.send(commandFrame({ responseId: 'r2', actions: [{ tool_name: 'click' }] }))
  const fresh = await peer.next((frame) => frame.type === 'command_results')
  t.equal(fresh.action_results[0].status, 'success', 'a new COMMAND (not re-sent) runs')
  t.equal(clicks, 1)
})

test('after a process restart a re-sent data_collection-only COMMAND runs (reading twice is harmless)', async (t) => {
  const scripted = await startScripted(t)
  let shots = 0
  const { device, peer } = await registeredDevice(t, scripted, {
    tools: { screenshot: { toolType: 'data_collection', handler: () => ++shots } }
  }, { resumed: true })
  const counts = executions(device)
  peer.send(commandFrame({ responseId: 'r1', actions: [{ tool_name: 'screenshot', tool_type: 'data_collection' }], resent: true }))
  const results = await peer.next((frame) => frame.type === 'command_results')
  t.same(results.action_results.map((r: Record<string, unknown>) => [r.status, r.result]), [['success', 1]])
  t.equal(counts.get('r1'), 1)
})

test('a first registration that did not resume runs a re-sent COMMAND (nothing was in flight here)', async (t) => {
  const scripted = await startScripted(t)
  let clicks = 0
  const { peer } = await registeredDevice(t, scripted, { tools: { click: { handler: () => ++clicks } } }, { resumed: false })
  peer.send(commandFrame({ responseId: 'r1', actions: [{ tool_name: 'click' }], resent: true }))
  const results = await peer.next((frame) => frame.type === 'command_results')
  t.equal(results.action_results[0].status, 'success')
  t.equal(clicks, 1)
})
