import { test } from 'tap'
import { CloseCode } from '@aip/endpoint'
import type { DeviceServerEvents } from '../src/index.js'
import { TestClient, deviceRegister, startServer } from './helpers/harness.js'

test('a connection that sends more frames than may wait is closed with 1008 and the rejection is reported', async (t) => {
  // The newcomer's REGISTER waits on the takeover probe of a live holder that never answers a ping: the frame
  // sent after it finds `maxQueuedFrames` (1: the REGISTER being handled) waiting.
  const { wsUrl, endpoint } = await startServer(t, { maxQueuedFrames: 1, takeoverProbeMs: 60_000 })
  const holder = await TestClient.connect(t, wsUrl, { autoPong: false })
  t.match(await holder.ask(deviceRegister('dev-q')), { status: 'ok' }, 'the holder is registered')
  const rejected = new Promise<DeviceServerEvents['frameRejected']>((resolve) => endpoint.on('frameRejected', resolve))
  const newcomer = await TestClient.connect(t, wsUrl)
  newcomer.send(deviceRegister('dev-q'))
  newcomer.send({ type: 'heartbeat', status: 'ok', client_type: 'device', client_id: 'dev-q' })
  const closed = await newcomer.closed
  t.same(closed, { code: CloseCode.PolicyViolation, reason: 'too many frames in flight' })
  t.same(await rejected, { code: 'too_many_frames' })
  t.ok(endpoint.isConnected('dev-q'), 'the holder is still registered')
})
