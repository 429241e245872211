import { test } from 'tap'
import { nextEvent, startScripted } from './helpers/net.js'
import { acceptRegistration, commandFrame, executions, registeredDevice } from './helpers/continuity.js'

test('a re-sent COMMAND the device never received (lost with the link) runs after the resume', async (t) => {
  const scripted = await startScripted(t)
  let calls = 0
  const { device, peer } = await registeredDevice(t, scripted, { tools: { click: { handler: () => ++calls } } }, { epoch: 1 })
  const counts = executions(device)
  const granted = nextEvent(device, 'grant')
  peer.ws.terminate()
  const { peer: second } = await acceptRegistration(scripted, { epoch: 2, resumed: true })
  t.same(await granted, { grant: { capabilities: ['resume', 'cancel', 'deadline'], epoch: 2, resumeWindowMs: 30_000, resumed: true }, resumed: true, first: false })
  second.send(commandFrame({ responseId: 'lost', actions: [{ tool_name: 'click' }], resent: true }))
  const results = await second.next((frame) => frame.type === 'command_results')
  t.equal(results.prev_response_id, 'lost')
  t.same(results.action_results.map((r: Record<string, unknown>) => [r.status, r.result]), [['success', 1]], 'it ran')
  t.equal(counts.get('lost'), 1)
})

test('COMMANDs right behind the registration answer wait for its grant (a resumed first registration fails them)', async (t) => {
  const scripted = await startScripted(t)
  let calls = 0
  const device = (await import('./helpers/net.js')).client(t, {
    wsUrl: scripted.wsUrl, clientId: 'dev1', tools: { click: { handler: () => ++calls } }
  })
  const started = device.start()
  const peer = await scripted.connection()
  await peer.next((frame) => frame.type === 'register')
  // The answer and a re-sent COMMAND in one go, as a server resuming this id writes them.
  const { registrationAnswer } = await import('./helpers/continuity.js')
  const socket = (peer.ws as unknown as { _socket: { cork: () => void, uncork: () => void } })._socket
  socket.cork()
  peer.send(registrationAnswer({ resumed: true }))
  peer.send(commandFrame({ responseId: 'r1', actions: [{ tool_name: 'click' }], resent: true }))
  socket.uncork()
  await started
  const results = await peer.next((frame) => frame.type === 'command_results')
  t.equal(results.action_results[0].status, 'failure', 'decided with the grant of its registration')
  t.equal(calls, 0)
})
