import { test } from 'tap'
import type { Extension } from '@aip/endpoint'
import type { Agent } from '@aip/device-server'
import { client, startServer } from './helpers/net.js'

const twoSteps: Agent = async (task, ctx) => {
  await ctx.execute([{ tool_name: 'say', parameters: { text: task.request }, tool_type: 'action' }])
  const results = await ctx.execute([{ tool_name: 'say', parameters: { text: 'again' }, tool_type: 'action' }])
  return { status: results[0]?.status === 'success' ? 'completed' : 'failed' }
}

/** An extension that counts every frame in and out, by type. */
function frameCounter (): Extension & { sent: Record<string, number>, received: Record<string, number>, connects: number } {
  const counter = {
    name: 'frame-counter',
    sent: {} as Record<string, number>,
    received: {} as Record<string, number>,
    connects: 0,
    onConnect: () => { counter.connects++ },
    onSend: (message: { type: string }) => { counter.sent[message.type] = (counter.sent[message.type] ?? 0) + 1 },
    onReceive: (message: { type: string }) => { counter.received[message.type] = (counter.received[message.type] ?? 0) + 1 }
  }
  return counter
}

test('an extension registered with use() sees every frame of a full task on the device', async (t) => {
  const server = await startServer(t, { agent: twoSteps })
  const device = client(t, { wsUrl: server.wsUrl, clientId: 'dev1', tools: { say: { handler: (p) => `said ${String(p.text)}` } } })
  const before = frameCounter()
  device.use(before)
  await device.start()
  const late = frameCounter()
  const off = device.use(late)
  t.equal(late.connects, 1, 'an extension added while connected sees the connection at once')
  const end = await device.startTask('hello', { timeoutMs: 5000 })
  t.equal(end.status, 'completed')
  t.same(before.sent, { register: 1, task: 1, command_results: 2 }, 'out: REGISTER, TASK, two COMMAND_RESULTS')
  t.same(before.received, { heartbeat: 2, command: 2, task_end: 1 }, 'in: the registration answer, the ack, two COMMANDs, the TASK_END')
  t.same(late.sent, { task: 1, command_results: 2 })
  t.same(late.received, { heartbeat: 1, command: 2, task_end: 1 })
  off()
  await device.startTask('again', { timeoutMs: 5000 })
  t.same(late.sent, { task: 1, command_results: 2 }, 'a removed extension sees no more frames')
  t.same(before.sent, { register: 1, task: 2, command_results: 4 })
})

test('sendWithTimeout and receiveWithTimeout act on the registered connection', async (t) => {
  const server = await startServer(t, { agent: twoSteps })
  const device = client(t, { wsUrl: server.wsUrl, clientId: 'dev1' })
  await t.rejects(device.sendWithTimeout({ type: 'heartbeat', status: 'ok', client_id: 'dev1' }), { code: 'AIP_ERR_ENDPOINT_NOT_CONNECTED' })
  await device.start()
  t.ok(device.isConnected())
  const answer = device.receiveWithTimeout('heartbeat', 5000)
  await device.sendWithTimeout({ type: 'heartbeat', status: 'ok', client_id: 'dev1', client_type: 'device' }, 5000)
  t.match(await answer, { type: 'heartbeat', status: 'ok' })
})
