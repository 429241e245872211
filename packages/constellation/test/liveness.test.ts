import type { AddressInfo } from 'node:net'
import { test } from 'tap'
import { WebSocketServer } from 'ws'
import { ConstellationEndpoint } from '../src/index.js'
import { scriptedServer, serverFrame, waitFor } from './helpers.js'

test('a server that stops answering heartbeats is dropped and reconnected; odd frames are reported', async (t) => {
  let connections = 0
  const { url } = await scriptedServer(t, async (socket) => {
    connections++
    await socket.next()
    socket.send(serverFrame({ type: 'heartbeat', status: 'ok' }))
    socket.send(serverFrame({ type: 'command', status: 'continue' }))
    socket.send(serverFrame({ type: 'heartbeat', status: 'error' }))
    socket.send(serverFrame({ type: 'heartbeat', status: 'ok', session_id: 'g@unknown' }))
    socket.send(serverFrame({ type: 'device_info_response', status: 'ok', response_id: null }))
    socket.send(serverFrame({ type: 'task_end', status: 'completed', session_id: null }))
  })
  const constellation = new ConstellationEndpoint({
    taskName: 'g', heartbeatIntervalMs: 10, maxMissedHeartbeats: 2, reconnectionStrategy: { initialBackoffMs: 5, maxBackoffMs: 10 }
  })
  t.teardown(() => constellation.stop())
  const reasons: string[] = []
  constellation.on('unmatched', ({ reason }) => reasons.push(reason))
  const states: string[] = []
  constellation.on('deviceState', ({ to }) => states.push(to))
  await constellation.connectToDevice({ deviceId: 'dev1', serverUrl: url })
  await waitFor(() => connections >= 2 && constellation.isDeviceConnected('dev1'), 5000, 'a second connection')
  t.ok(states.includes('disconnected'), 'the silent connection was dropped')
  t.same(reasons.slice(0, 5), [
    'unexpected message type',
    'heartbeat with a status other than ok',
    'ack of no task waiting for one',
    'DEVICE_INFO_RESPONSE of no pending request',
    'TASK_END of no pending task (late, or already settled)'
  ])
})

test('a refused upgrade (401) during reconnection gives the device up at once', async (t) => {
  let allow = true
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    verifyClient: (_info, done) => done(allow, allow ? undefined : 401)
  })
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()))
  t.teardown(() => new Promise<void>((resolve) => { for (const c of wss.clients) c.terminate(); wss.close(() => resolve()) }))
  wss.on('connection', (ws) => {
    ws.once('message', () => {
      ws.send(JSON.stringify(serverFrame({ type: 'heartbeat', status: 'ok' })))
      allow = false
      setTimeout(() => ws.terminate(), 10)
    })
  })
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ws?token=t`
  const constellation = new ConstellationEndpoint({ taskName: 'g', reconnectionStrategy: { initialBackoffMs: 5, maxBackoffMs: 10, maxRetries: 20 } })
  t.teardown(() => constellation.stop())
  const failed = new Promise<{ error: unknown, failure: unknown }>((resolve) => constellation.on('deviceState', ({ to, error, failure }) => { if (to === 'failed') resolve({ error, failure }) }))
  await constellation.connectToDevice({ deviceId: 'dev1', serverUrl: url, maxRetries: 20 })
  const running = constellation.sendTaskToDevice('dev1', { request: 'x' }).catch((err: unknown) => err)
  const { error, failure } = await failed
  t.match(error, { code: 'AIP_ERR_CONSTELLATION_CONNECT', httpStatus: 401 })
  t.equal(failure, 'credentials', 'the state event names why retrying stopped')
  t.match(await running, { code: 'AIP_ERR_CONSTELLATION_DEVICE_DISCONNECTED' })
  await t.rejects(constellation.sendTaskToDevice('dev1', { request: 'x' }), { code: 'AIP_ERR_CONSTELLATION_NOT_CONNECTED' })
  t.equal(constellation.getDevice('dev1')?.status, 'failed')
})
