import { test } from 'tap'
import { startScripted } from './helpers/net.js'
import { commandFrame, executions, registeredDevice } from './helpers/continuity.js'

test('a COMMAND sent again while it still runs is not run twice; its results go out once, when it ends', async (t) => {
  const scripted = await startScripted(t)
  let calls = 0
  let release!: () => void
  const released = new Promise<void>((resolve) => { release = resolve })
  let started!: () => void
  const running = new Promise<void>((resolve) => { started = resolve })
  const { device, peer } = await registeredDevice(t, scripted, {
    tools: { long: { handler: async () => { calls++; started(); await released; return 'done' } } }
  })
  const counts = executions(device)
  const deduplicated = new Promise<string>((resolve) => device.on('commandDeduplicated', ({ answer }) => resolve(answer)))
  peer.send(commandFrame({ responseId: 'r1', actions: [{ tool_name: 'long' }] }))
  await running
  peer.send(commandFrame({ responseId: 'r1', actions: [{ tool_name: 'long' }], resent: true }))
  t.equal(await deduplicated, 'running')
  release()
  const results = await peer.next((frame) => frame.type === 'command_results')
  t.same(results.action_results.map((r: Record<string, unknown>) => r.result), ['done'])
  // A later COMMAND's results prove the device had nothing more to say about r1.
  peer.send(commandFrame({ responseId: 'r2', actions: [] }))
  await peer.next((frame) => frame.type === 'command_results' && frame.prev_response_id === 'r2')
  t.equal(peer.frames.filter((frame) => frame.type === 'command_results' && frame.prev_response_id === 'r1').length, 1, 'one answer for r1')
  t.equal(calls, 1)
  t.equal(counts.get('r1'), 1)
})

test('a copy of a COMMAND still waiting in its session chain is not queued again', async (t) => {
  const scripted = await startScripted(t)
  const ran: string[] = []
  let release!: () => void
  const released = new Promise<void>((resolve) => { release = resolve })
  const { device, peer } = await registeredDevice(t, scripted, {
    tools: { step: { handler: async (params) => { ran.push(String(params.n)); if (params.n === 1) await released; return params.n } } }
  })
  const deduplicated = new Promise<string>((resolve) => device.on('commandDeduplicated', ({ responseId }) => resolve(String(responseId))))
  peer.send(commandFrame({ responseId: 'r1', actions: [{ tool_name: 'step', parameters: { n: 1 } }] }))
  peer.send(commandFrame({ responseId: 'r2', actions: [{ tool_name: 'step', parameters: { n: 2 } }] }))
  peer.send(commandFrame({ responseId: 'r2', actions: [{ tool_name: 'step', parameters: { n: 2 } }], resent: true }))
  t.equal(await deduplicated, 'r2', 'the queued one is known')
  release()
  await peer.next((frame) => frame.type === 'command_results' && frame.prev_response_id === 'r2')
  t.same(ran, ['1', '2'], 'each ran once, in order')
})
