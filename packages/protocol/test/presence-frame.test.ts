import { test } from 'tap'
import {
  CAPABILITIES_KEY, DEVICE_PRESENCE, SERVER_MESSAGE_FIELDS, buildDevicePresence, decodeServerMessage, encodeServerMessage,
  readDevicePresence, requestedCapabilities
} from '../src/index.js'

const INPUT = {
  deviceId: 'dev1',
  event: 'telemetry',
  state: 'online',
  runningTasks: 2,
  platform: 'linux',
  systemInfo: { cpu_count: 8 },
  timestamp: '2026-11-30T13:41:02.118843+00:00',
  responseId: 'r-1'
} as const

test('a device_presence frame is a ServerMessage in the reference form with the event in result', async (t) => {
  const text = encodeServerMessage(buildDevicePresence(INPUT))
  const parsed = JSON.parse(text) as Record<string, unknown>
  t.same(Object.keys(parsed), [...SERVER_MESSAGE_FIELDS], 'every field, in order')
  t.match(parsed, { type: DEVICE_PRESENCE, status: 'ok', session_id: null, timestamp: INPUT.timestamp, response_id: 'r-1' })
  t.same(parsed.result, { device_id: 'dev1', event: 'telemetry', state: 'online', running_tasks: 2, platform: 'linux', system_info: { cpu_count: 8 } })
  const decoded = decodeServerMessage(text)
  t.equal(decoded.ok, true, 'a receiver decodes it')
  if (!decoded.ok) return
  t.same(readDevicePresence(decoded.value), { deviceId: 'dev1', event: 'telemetry', state: 'online', runningTasks: 2, platform: 'linux', systemInfo: { cpu_count: 8 } })
  t.ok(Object.isFrozen(readDevicePresence(decoded.value)))
})

test('a malformed device_presence, or another message, reads as none', async (t) => {
  const frame = (result: unknown): { type: string, result: unknown } => ({ type: DEVICE_PRESENCE, result })
  t.equal(readDevicePresence({ type: 'heartbeat', result: { device_id: 'dev1', event: 'busy', state: 'online' } }), null)
  t.equal(readDevicePresence(frame(null) as never), null)
  t.equal(readDevicePresence(frame([]) as never), null)
  t.equal(readDevicePresence(frame({ event: 'busy', state: 'online' }) as never), null, 'no device id')
  t.equal(readDevicePresence(frame({ device_id: 'dev1', event: 'teleported', state: 'online' }) as never), null, 'unknown event')
  t.equal(readDevicePresence(frame({ device_id: 'dev1', event: 'busy', state: 'lost' }) as never), null, 'unknown state')
  t.same(readDevicePresence(frame({ device_id: 'dev1', event: 'idle', state: 'online', running_tasks: -3, platform: 7, system_info: 'x' }) as never),
    { deviceId: 'dev1', event: 'idle', state: 'online', runningTasks: 0, platform: null, systemInfo: null }, 'bad optional fields read as their defaults')
})

test('presence is a capability a REGISTER may ask for, beside those of continuity', async (t) => {
  t.same(requestedCapabilities({ [CAPABILITIES_KEY]: ['presence', 'resume', 'presence', 'x'] }), ['presence', 'resume'])
})
