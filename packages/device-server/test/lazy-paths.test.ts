import { createLinkedTransports, type Transport } from '@aip/endpoint'
import { test } from 'tap'
import { waitFor } from '@aip/test-support'
import { DeviceServerEndpoint, SessionCancelledError, type Agent } from '../src/index.js'

// Paths the hot-path work made lazy: the frame queue allocated only while frames wait, the send path of a
// transport without `post()`, and the task's signal and logger made on first use.

function collect (transport: Transport): Array<Record<string, any>> {
  const frames: Array<Record<string, any>> = []
  transport.on('message', (data) => frames.push(JSON.parse(String(data))))
  return frames
}

const register = { type: 'register', status: 'ok', client_type: 'device', client_id: 'd1', metadata: { platform: 'linux' } }

test('frames sent right behind REGISTER wait for it and are all answered, over a transport without post()', async (t) => {
  const endpoint = new DeviceServerEndpoint({ pingIntervalMs: 0 })
  t.teardown(() => endpoint.stop())
  const [client, server] = createLinkedTransports()
  t.equal(server.post, undefined, 'the in-memory transport has no post()')
  const frames = collect(client)
  endpoint.handleTransport(server)
  client.send(JSON.stringify(register)).catch(() => {})
  for (let i = 0; i < 3; i++) client.send(JSON.stringify({ type: 'heartbeat', status: 'ok', client_type: 'device', client_id: 'd1' })).catch(() => {})
  await waitFor(() => frames.length >= 4)
  t.same(frames.map((f) => [f.type, f.status, f.session_id]), Array(4).fill(['heartbeat', 'ok', null]))
  t.ok(endpoint.isConnected('d1'))
})

test('an agent that reads its signal only after the task was cancelled finds it aborted, with the reason', async (t) => {
  let release!: () => void
  const gate = new Promise<void>((resolve) => { release = resolve })
  let seen: { aborted: boolean, reason: unknown, logs: boolean } | undefined
  const agent: Agent = async (_task, context) => {
    await gate
    seen = { aborted: context.signal.aborted, reason: context.signal.reason, logs: typeof context.logger.info === 'function' }
    return { status: 'completed' }
  }
  const endpoint = new DeviceServerEndpoint({ pingIntervalMs: 0, agent })
  t.teardown(() => endpoint.stop())
  const [client, server] = createLinkedTransports()
  const frames = collect(client)
  endpoint.handleTransport(server)
  client.send(JSON.stringify(register)).catch(() => {})
  client.send(JSON.stringify({ type: 'task', status: 'continue', client_type: 'device', client_id: 'd1', session_id: 's1', request: 'wait' })).catch(() => {})
  await waitFor(() => endpoint.sessionCount === 1)
  t.ok(endpoint.cancelSession('s1'))
  release()
  await waitFor(() => frames.some((f) => f.type === 'task_end'))
  t.equal(seen?.aborted, true)
  t.ok(seen?.reason instanceof SessionCancelledError)
  t.equal(seen?.logs, true)
  t.equal(frames.find((f) => f.type === 'task_end')?.status, 'failed')
})
