import { test } from 'tap'
import { registeredConstellation, registeredDevice, startServer } from './helpers/harness.js'

test('frames of one connection are answered in the order they were sent (B6)', async (t) => {
  const { wsUrl } = await startServer(t)
  await registeredDevice(t, wsUrl, 'devA', { metadata: { platform: 'linux', system_info: { device_id: 'devA' } } })
  const galaxy = await registeredConstellation(t, wsUrl, 'g@devA', 'devA')
  const count = 200
  for (let i = 0; i < count; i++) {
    // Valid and invalid frames interleaved: every one is answered, in order.
    if (i % 10 === 9) galaxy.send('not json')
    else galaxy.send({ type: 'device_info_request', status: 'ok', client_type: 'constellation', client_id: 'g@devA', target_id: 'devA', request_id: `r${i}` })
  }
  const order: string[] = []
  for (let i = 0; i < count; i++) {
    const frame = await galaxy.next()
    order.push(frame.type === 'error' ? 'error' : frame.response_id)
  }
  t.same(order, Array.from({ length: count }, (_, i) => (i % 10 === 9 ? 'error' : `r${i}`)))
})

test('device info is answered from the registration telemetry, scoped to the constellation target', async (t) => {
  const { wsUrl } = await startServer(t)
  const systemInfo = { device_id: 'devA', platform: 'linux', hostname: 'h' }
  const device = await registeredDevice(t, wsUrl, 'devA', { metadata: { platform: 'linux', system_info: systemInfo } })
  await registeredDevice(t, wsUrl, 'devB')
  const galaxy = await registeredConstellation(t, wsUrl, 'g@devA', 'devA')
  const info = await galaxy.ask({ type: 'device_info_request', status: 'ok', client_type: 'constellation', client_id: 'g@devA', target_id: 'devA', request_id: 'q1' })
  t.same([info.type, info.response_id, info.result], ['device_info_response', 'q1', systemInfo])
  const other = await galaxy.ask({ type: 'device_info_request', status: 'ok', client_type: 'constellation', client_id: 'g@devA', target_id: 'devB', request_id: 'q2' })
  t.same([other.type, other.error, other.response_id], ['error', 'Not authorized to request device info for this device', 'q2'], 'refused, correlated by response_id')
  // A device may push fresh telemetry (the reference's DEVICE_INFO_RESPONSE push form).
  device.send({ type: 'device_info_response', status: 'ok', client_id: 'devA', metadata: { ...systemInfo, hostname: 'renamed' } })
  const beat = await device.ask({ type: 'heartbeat', status: 'ok', client_id: 'devA' })
  t.equal(beat.type, 'heartbeat', 'the push is not answered')
  const fresh = await galaxy.ask({ type: 'device_info_request', status: 'ok', client_type: 'constellation', client_id: 'g@devA', target_id: 'devA', request_id: 'q3' })
  t.equal(fresh.result.hostname, 'renamed')
})
