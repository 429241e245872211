import { createLinkedTransports } from '@aip/endpoint'
import { buildDeviceRegistration, buildTaskRequest, decodeServerMessage, encodeClientMessage } from '@aip/protocol'
import { test } from 'tap'
import { DeviceServerEndpoint, type TaskRecord } from '../src/index.js'

test('an agent result JSON cannot hold still ends the task, failed, with exactly one TASK_END', async (t) => {
  const cyclic: Record<string, unknown> = {}
  cyclic.self = cyclic
  const endpoint = new DeviceServerEndpoint({ pingIntervalMs: 0, agent: async () => ({ status: 'completed', result: cyclic }) })
  t.teardown(() => endpoint.stop())
  const [client, server] = createLinkedTransports()
  endpoint.handleTransport(server)
  const frames: Array<Record<string, unknown>> = []
  const taskEnd = new Promise<Record<string, unknown>>((resolve) => client.on('message', (data) => {
    const decoded = decodeServerMessage(data)
    if (!decoded.ok) return
    frames.push(decoded.value)
    if (decoded.value.type === 'task_end') resolve(decoded.value)
  }))
  const recorded = new Promise<TaskRecord>((resolve) => endpoint.on('taskEnd', resolve))
  await client.send(encodeClientMessage(buildDeviceRegistration({ clientId: 'dev' })))
  await client.send(encodeClientMessage(buildTaskRequest({ clientId: 'dev', clientType: 'device', sessionId: 's1', request: 'go' })))
  const end = await taskEnd
  t.same([end.status, end.error, end.result], ['failed', 'The task result cannot be sent (it is not JSON)', null])
  t.same([(await recorded).status, endpoint.sessionCount], ['failed', 0])
  t.equal(frames.filter((f) => f.type === 'task_end').length, 1)
})
