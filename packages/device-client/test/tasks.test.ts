import { test } from 'tap'
import type { Agent } from '@aip/device-server'
import { client, nextEvent, serverFrame, startScripted, startServer } from './helpers/net.js'

const echoAgent: Agent = async (task, ctx) => {
  const results = await ctx.execute([{ tool_name: 'say', parameters: { text: task.request }, tool_type: 'action' }])
  return results[0]?.status === 'success' ? { status: 'completed', result: results[0].result } : { status: 'failed', error: 'no' }
}

test('startTask: TASK, ack, the COMMANDs through our tools, TASK_END completed', async (t) => {
  const server = await startServer(t, { agent: echoAgent })
  const device = client(t, { wsUrl: server.wsUrl, clientId: 'dev1', tools: { say: { handler: (p) => `said ${String(p.text)}` } } })
  await device.start()
  const end = await device.startTask('hello', { taskName: 'greet', timeoutMs: 5000 })
  t.equal(end.type, 'task_end')
  t.equal(end.status, 'completed')
  t.equal(end.result, 'said hello')
  t.type(end.session_id, 'string')
  t.equal(server.endpoint.getResult(end.session_id as string)?.taskName, 'greet')
})

test('server dispatch: our device takes the task up under the session id the server chose', async (t) => {
  const server = await startServer(t, { agent: echoAgent })
  const device = client(t, { wsUrl: server.wsUrl, clientId: 'dev1', tools: { say: { handler: () => 'ok' } } })
  await device.start()
  const announced = nextEvent(device, 'serverTask')
  const dispatched = await server.endpoint.dispatch('dev1', 'do it', { taskName: 'job' })
  t.equal((await announced).sessionId, dispatched.sessionId)
  const record = await dispatched.done
  t.equal(record.status, 'completed')
  t.equal(record.sessionId, dispatched.sessionId)
})

test('startTask failures are coded: refused, ack timeout, abort, disconnect, not registered, stopped', async (t) => {
  const scripted = await startScripted(t)
  const device = client(t, { wsUrl: scripted.wsUrl, clientId: 'dev1', maxRetries: 0 })
  await t.rejects(device.startTask('x'), { code: 'AIP_ERR_DEVICE_NOT_REGISTERED' })
  const started = device.start()
  const peer = await scripted.connection()
  await peer.next()
  peer.send(serverFrame({ type: 'heartbeat', status: 'ok' }))
  await started
  await t.rejects(device.startTask(''), { code: 'AIP_ERR_INVALID_ARGUMENT' })

  const refused = device.startTask('x')
  await peer.next((f) => f.type === 'task')
  peer.send(serverFrame({ type: 'error', status: 'error', error: 'TASK requires a request' }))
  await t.rejects(refused, { code: 'AIP_ERR_DEVICE_TASK_REFUSED', message: 'The server refused the task: TASK requires a request' })

  await t.rejects(device.startTask('x', { ackTimeoutMs: 30 }), { code: 'AIP_ERR_DEVICE_TASK_TIMEOUT', message: 'The task got no ack within 30 ms' })

  const late = device.startTask('x', { timeoutMs: 40 })
  const task = await peer.next((f) => f.type === 'task')
  t.equal(task.task_name.length, 36, 'a fresh uuid task name by default')
  peer.send(serverFrame({ type: 'heartbeat', status: 'ok', session_id: 'S' }))
  await t.rejects(late, { code: 'AIP_ERR_DEVICE_TASK_TIMEOUT', message: 'The task got no TASK_END within 40 ms' })

  const controller = new AbortController()
  const aborted = device.startTask('x', { signal: controller.signal })
  await peer.next((f) => f.type === 'task')
  controller.abort()
  await t.rejects(aborted, { code: 'AIP_ERR_DEVICE_TASK_ABORTED' })

  const cut = device.startTask('x')
  await peer.next((f) => f.type === 'task')
  const stopped = nextEvent(device, 'stopped')
  peer.ws.terminate()
  await t.rejects(cut, { code: 'AIP_ERR_DEVICE_DISCONNECTED' })
  t.equal((await stopped).reason, 'exhausted', 'maxRetries: 0 gives up at once')
  await t.rejects(device.startTask('x'), { code: 'AIP_ERR_DEVICE_STOPPED' })
})
