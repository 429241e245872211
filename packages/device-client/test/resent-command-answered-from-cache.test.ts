import { test } from 'tap'
import { startScripted } from './helpers/net.js'
import { commandFrame, executions, registeredDevice } from './helpers/continuity.js'

test('a COMMAND sent again after it was answered is not run again: the cached COMMAND_RESULTS are sent again', async (t) => {
  const scripted = await startScripted(t)
  let calls = 0
  const { device, peer } = await registeredDevice(t, scripted, { tools: { click: { handler: () => ++calls } } })
  const counts = executions(device)
  const deduplicated: string[] = []
  device.on('commandDeduplicated', ({ responseId, answer, resent }) => deduplicated.push(`${String(responseId)}:${answer}:${String(resent)}`))
  const command = commandFrame({ responseId: 'r1', actions: [{ tool_name: 'click' }] })
  peer.send(command)
  const first = await peer.next((frame) => frame.type === 'command_results')
  t.same(first.action_results.map((r: Record<string, unknown>) => [r.status, r.result]), [['success', 1]])

  peer.send(commandFrame({ responseId: 'r1', actions: [{ tool_name: 'click' }], resent: true }))
  const again = await peer.next((frame) => frame.type === 'command_results')
  t.same(again, first, 'the very same COMMAND_RESULTS, request_id included')
  t.equal(calls, 1, 'the tool ran once')
  t.equal(counts.get('r1'), 1, 'one commandExecuted event')
  t.same(deduplicated, ['r1:cached:true'])

  peer.send(commandFrame({ responseId: 'r2', actions: [{ tool_name: 'click' }] }))
  const other = await peer.next((frame) => frame.type === 'command_results')
  t.equal(other.prev_response_id, 'r2', 'another COMMAND runs as usual')
  t.equal(calls, 2)
})

test('with continuity: false a repeated response_id runs again (the reference behaviour)', async (t) => {
  const scripted = await startScripted(t)
  let calls = 0
  const { device, peer } = await registeredDevice(t, scripted, { continuity: false, tools: { click: { handler: () => ++calls } } }, null)
  const counts = executions(device)
  peer.send(commandFrame({ responseId: 'r1', actions: [{ tool_name: 'click' }] }))
  await peer.next((frame) => frame.type === 'command_results')
  peer.send(commandFrame({ responseId: 'r1', actions: [{ tool_name: 'click' }] }))
  const second = await peer.next((frame) => frame.type === 'command_results')
  t.same(second.action_results.map((r: Record<string, unknown>) => r.result), [2])
  t.equal(counts.get('r1'), 2)
})

test('results are cached only under a resume grant: without one a copy of an answered COMMAND runs again', async (t) => {
  const scripted = await startScripted(t)
  let calls = 0
  const { device, peer } = await registeredDevice(t, scripted, { tools: { click: { handler: () => ++calls } } }, { capabilities: ['cancel', 'deadline'], resumeWindowMs: 0 })
  const counts = executions(device)
  peer.send(commandFrame({ responseId: 'r1', actions: [{ tool_name: 'click' }] }))
  await peer.next((frame) => frame.type === 'command_results')
  peer.send(commandFrame({ responseId: 'r1', actions: [{ tool_name: 'click' }] }))
  await peer.next((frame) => frame.type === 'command_results')
  t.equal(counts.get('r1'), 2, 'no resume: the server never re-sends, nothing is kept')
})

test('a TASK_END drops the cached results of its session', async (t) => {
  const scripted = await startScripted(t)
  let calls = 0
  const { device, peer } = await registeredDevice(t, scripted, { tools: { click: { handler: () => ++calls } } })
  const counts = executions(device)
  peer.send(commandFrame({ sessionId: 's1', responseId: 'r1', actions: [{ tool_name: 'click' }] }))
  peer.send(commandFrame({ sessionId: 's2', responseId: 'r2', actions: [{ tool_name: 'click' }] }))
  await peer.next((frame) => frame.type === 'command_results' && frame.prev_response_id === 'r1')
  await peer.next((frame) => frame.type === 'command_results' && frame.prev_response_id === 'r2')
  const ended = new Promise<void>((resolve) => device.on('taskEnd', () => resolve()))
  peer.send({ ...commandFrame({ sessionId: 's1', responseId: 'end', actions: [] }), type: 'task_end', status: 'completed', actions: null })
  await ended
  peer.send(commandFrame({ sessionId: 's2', responseId: 'r2', actions: [{ tool_name: 'click' }], resent: true }))
  await peer.next((frame) => frame.type === 'command_results' && frame.prev_response_id === 'r2')
  t.equal(counts.get('r2'), 1, 'the other session is still answered from the cache')
  peer.send(commandFrame({ sessionId: 's1', responseId: 'r1', actions: [{ tool_name: 'click' }] }))
  await peer.next((frame) => frame.type === 'command_results' && frame.prev_response_id === 'r1')
  t.equal(counts.get('r1'), 2, 'the ended session is forgotten')
})
