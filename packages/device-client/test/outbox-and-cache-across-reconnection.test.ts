import { test } from 'tap'
import { nextEvent, startScripted } from './helpers/net.js'
import { acceptRegistration, commandFrame, executions, registeredDevice } from './helpers/continuity.js'

test('results produced while the link is down go out after the resume, and the re-sent COMMAND gets them again, run once', async (t) => {
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
  peer.send(commandFrame({ responseId: 'r1', actions: [{ tool_name: 'long' }] }))
  await running
  const disconnected = nextEvent(device, 'disconnected')
  peer.ws.terminate()
  await disconnected
  release()
  // The results land in the outbox (no connection): a bounded wait for that, turn by turn.
  for (let turn = 0; turn < 100 && device.pendingResults === 0; turn++) await new Promise((resolve) => setImmediate(resolve))
  t.equal(device.pendingResults, 1, 'kept for the next connection')

  const sent = nextEvent(device, 'resultsSent')
  const { peer: second } = await acceptRegistration(scripted, { epoch: 2, resumed: true })
  const flushed = await second.next((frame) => frame.type === 'command_results')
  t.equal(flushed.prev_response_id, 'r1', 'the outbox was flushed on the new connection')
  t.ok((await sent).queuedMs >= 0)
  second.send(commandFrame({ responseId: 'r1', actions: [{ tool_name: 'long' }], resent: true }))
  const again = await second.next((frame) => frame.type === 'command_results')
  t.same(again, flushed, 'answered from the cache: a duplicate the server drops')
  t.equal(calls, 1, 'the tool ran once')
  t.equal(counts.get('r1'), 1)
  t.equal(device.pendingResults, 0)
})
