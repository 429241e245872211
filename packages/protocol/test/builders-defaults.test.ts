import { test } from 'tap'
import {
  buildConstellationRegistration, buildDeviceInfoPush, buildDeviceInfoRequest, buildDeviceInfoResponse,
  buildDeviceRegistration, buildServerHeartbeat, buildTaskRequest, decodeClientMessage, encodeClientMessage
} from '../src/index.js'

test('a device-originated TASK gets a fresh request_id; a constellation TASK none unless given', async (t) => {
  const device = buildTaskRequest({ clientId: 'd', clientType: 'device', request: 'x' })
  t.match(device.request_id, /^[0-9a-f-]{36}$/)
  t.equal(device.session_id, null, 'the server chooses the session of a device task')
  t.equal(buildTaskRequest({ clientId: 'c', clientType: 'constellation', request: 'x', targetId: 'd' }).request_id, null)
  t.equal(buildTaskRequest({ clientId: 'd', clientType: 'device', request: 'x', requestId: null }).request_id, null)
})

test('device REGISTER metadata keeps the reference key order, then extra keys', async (t) => {
  const message = buildDeviceRegistration({ clientId: 'd', platform: 'linux', metadata: { site: 'lab' } })
  t.same(Object.keys(message.metadata ?? {}), ['registration_time', 'platform', 'site'])
  t.match(message.metadata?.registration_time, /\+00:00$/)
})

test('an unscoped constellation REGISTER carries null targets', async (t) => {
  const message = buildConstellationRegistration({ clientId: 'c', taskName: 't', capabilities: ['x'] })
  t.equal(message.target_id, null)
  t.same(message.metadata, { type: 'constellation_client', task_name: 't', targeted_device_id: null, capabilities: ['x'], version: '2.0' })
})

test('device info: generated request ids are unique and correlate; a push carries telemetry in metadata', async (t) => {
  const a = buildDeviceInfoRequest({ clientId: 'c', targetId: 'dev1' })
  const b = buildDeviceInfoRequest({ clientId: 'c', targetId: 'dev1' })
  t.match(a.request_id, /^device_info_dev1_/)
  t.not(a.request_id, b.request_id)
  const response = buildDeviceInfoResponse({ requestId: a.request_id ?? '', result: null, error: 'offline' })
  t.equal(response.status, 'error')
  t.equal(response.response_id, a.request_id)
  const push = buildDeviceInfoPush({ clientId: 'dev1', systemInfo: { hostname: 'h' } })
  t.equal(push.type, 'device_info_response')
  t.same(push.metadata, { hostname: 'h' })
  const decoded = decodeClientMessage(encodeClientMessage(push))
  t.ok(decoded.ok)
})

test('server heartbeats default to no session and a fresh response_id', async (t) => {
  const a = buildServerHeartbeat()
  t.equal(a.session_id, null)
  t.not(a.response_id, buildServerHeartbeat().response_id)
})
