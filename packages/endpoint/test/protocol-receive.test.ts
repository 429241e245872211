import t from 'tap'
import { buildServerHeartbeat, buildTaskEnd } from '@aip/protocol'
import { keepAlive, linkedProtocols } from './helpers.js'

t.test('receive takes the next message of its type, registered before the send', async (t) => {
  const { client, server } = linkedProtocols()
  t.teardown(() => client.close())
  const end = client.receive('task_end')
  t.equal(client.waiterCount, 1)
  await server.send(buildServerHeartbeat())
  await server.send(buildTaskEnd({ sessionId: 's1', status: 'completed' }))
  t.equal((await end).session_id, 's1')
  t.equal(client.waiterCount, 0, 'the waiter is removed once settled')
})

t.test('receive with a filter skips messages that do not pass it', async (t) => {
  const { client, server } = linkedProtocols()
  t.teardown(() => client.close())
  const end = client.receive('task_end', { filter: (m) => m.session_id === 's2' })
  await server.send(buildTaskEnd({ sessionId: 's1', status: 'completed' }))
  await server.send(buildTaskEnd({ sessionId: 's2', status: 'failed' }))
  t.equal((await end).status, 'failed')
})

t.test('receive rejects with the coded timeout error and cleans up', async (t) => {
  keepAlive(t)
  const { client } = linkedProtocols()
  t.teardown(() => client.close())
  await t.rejects(client.receive('task_end', { timeoutMs: 5 }), { code: 'AIP_ERR_TIMEOUT', timeoutMs: 5 })
  t.equal(client.waiterCount, 0)
})

t.test('receive rejects when its signal aborts, or at once when it was aborted', async (t) => {
  const { client } = linkedProtocols()
  t.teardown(() => client.close())
  const controller = new AbortController()
  const waiting = client.receive('command', { signal: controller.signal, timeoutMs: 10_000 })
  controller.abort(new Error('stop'))
  await t.rejects(waiting, { code: 'AIP_ERR_ABORTED' })
  await t.rejects(client.receive('command', { signal: controller.signal }), { code: 'AIP_ERR_ABORTED' })
  t.equal(client.waiterCount, 0)
})

t.test('receive rejects a bad timeout with a coded argument error', async (t) => {
  const { client } = linkedProtocols()
  t.teardown(() => client.close())
  for (const timeoutMs of [0, -1, Number.NaN, Infinity]) {
    await t.rejects(client.receive('task', { timeoutMs }), { code: 'AIP_ERR_INVALID_ARGUMENT' })
  }
})

t.test('close releases every waiter with the transport-closed code', async (t) => {
  const { client } = linkedProtocols()
  const a = client.receive('task_end')
  const b = client.receiveFile()
  const c = client.receiveBinary({ transferId: 'x' })
  client.close()
  client.close()
  await t.rejects(a, { code: 'AIP_ERR_ENDPOINT_TRANSPORT_CLOSED' })
  await t.rejects(b, { code: 'AIP_ERR_ENDPOINT_TRANSPORT_CLOSED' })
  await t.rejects(c, { code: 'AIP_ERR_ENDPOINT_TRANSPORT_CLOSED' })
  t.equal(client.waiterCount, 0)
})

t.test('a close by the peer releases every waiter too', async (t) => {
  const { client, server } = linkedProtocols()
  const waiting = client.receive('task_end')
  server.close(1001, 'going away')
  await t.rejects(waiting, { code: 'AIP_ERR_ENDPOINT_TRANSPORT_CLOSED' })
})
