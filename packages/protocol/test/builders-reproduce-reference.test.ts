import { test } from 'tap'
import {
  buildClientError, buildCommand, buildCommandResults, buildConstellationRegistration, buildDeviceInfoRequest,
  buildDeviceInfoResponse, buildDeviceRegistration, buildHeartbeat, buildRegistrationConfirmation, buildServerError,
  buildServerTask, buildTaskAck, buildTaskEnd, buildTaskRequest, deviceInfoUnavailable, encodeClientMessage,
  encodeServerMessage, type Command, type DeviceSystemInfo, type Result
} from '../src/index.js'
import { frameObject, line, wireText } from '@aip/test-support'

// Each builder, given the volatile values of a captured frame (timestamps and generated ids), writes the exact
// bytes the reference wrote.

const S1 = 's1-task-roundtrip.jsonl'

function volatile (file: string, seq: number): Record<string, any> {
  return frameObject(line(file, seq))
}

test('device REGISTER', async (t) => {
  const f = volatile(S1, 1)
  const message = buildDeviceRegistration({
    clientId: 'dev1',
    platform: 'windows',
    systemInfo: f.metadata.system_info as DeviceSystemInfo,
    registrationTime: f.metadata.registration_time,
    timestamp: f.timestamp
  })
  t.equal(encodeClientMessage(message), wireText(line(S1, 1)))
})

test('registration confirmation', async (t) => {
  const f = volatile(S1, 2)
  t.equal(encodeServerMessage(buildRegistrationConfirmation({ timestamp: f.timestamp, responseId: f.response_id })), wireText(line(S1, 2)))
})

test('constellation REGISTER scoped to a device', async (t) => {
  const f = volatile(S1, 3)
  const message = buildConstellationRegistration({ clientId: 'galaxy_task@dev1', targetId: 'dev1', taskName: 'galaxy_task', timestamp: f.timestamp })
  t.equal(encodeClientMessage(message), wireText(line(S1, 3)))
})

test('DEVICE_INFO_REQUEST and its DEVICE_INFO_RESPONSE', async (t) => {
  const request = volatile(S1, 5)
  t.equal(
    encodeClientMessage(buildDeviceInfoRequest({ clientId: 'galaxy_task@dev1', targetId: 'dev1', requestId: request.request_id, timestamp: request.timestamp })),
    wireText(line(S1, 5))
  )
  const response = volatile(S1, 6)
  t.equal(
    encodeServerMessage(buildDeviceInfoResponse({ requestId: request.request_id, result: response.result, timestamp: response.timestamp })),
    wireText(line(S1, 6))
  )
  const missing = volatile('s2-error-matrix.jsonl', 48)
  t.equal(
    encodeServerMessage(buildDeviceInfoResponse({ requestId: 'r2', result: deviceInfoUnavailable('devA'), timestamp: missing.timestamp })),
    wireText(line('s2-error-matrix.jsonl', 48))
  )
})

test('constellation TASK and its ack', async (t) => {
  const task = volatile(S1, 7)
  const message = buildTaskRequest({
    clientId: 'galaxy_task@dev1',
    clientType: 'constellation',
    sessionId: 'galaxy_task@t1',
    taskName: 'galaxy/galaxy_task/t1',
    targetId: 'dev1',
    request: 'Open Notepad',
    timestamp: task.timestamp
  })
  t.equal(encodeClientMessage(message), wireText(line(S1, 7)))
  const ack = volatile(S1, 8)
  t.equal(encodeServerMessage(buildTaskAck({ sessionId: 'galaxy_task@t1', timestamp: ack.timestamp, responseId: ack.response_id })), wireText(line(S1, 8)))
})

test('device-originated TASK', async (t) => {
  const f = volatile('s5-device-task-orphaned.jsonl', 3)
  const message = buildTaskRequest({
    clientId: 'dev3',
    clientType: 'device',
    taskName: 'mytask',
    request: 'Open calc',
    requestId: f.request_id,
    metadata: { platform: 'windows' },
    timestamp: f.timestamp
  })
  t.equal(encodeClientMessage(message), wireText(line('s5-device-task-orphaned.jsonl', 3)))
})

test('COMMAND with its call ids, and the COMMAND_RESULTS answering it', async (t) => {
  const command = volatile(S1, 9)
  const message = buildCommand({
    sessionId: 'galaxy_task@t1',
    taskName: 'galaxy_galaxy_task_t1',
    agentName: 'HostAgent',
    processName: 'notepad.exe',
    rootName: 'Notepad',
    actions: command.actions as Command[],
    assignCallIds: false,
    timestamp: command.timestamp,
    responseId: command.response_id
  })
  t.equal(encodeServerMessage(message), wireText(line(S1, 9)))
  const results = volatile(S1, 12)
  t.equal(
    encodeClientMessage(buildCommandResults({
      clientId: 'dev1',
      sessionId: 'galaxy_task@t1',
      prevResponseId: command.response_id,
      results: results.action_results as Result[],
      requestId: results.request_id,
      timestamp: results.timestamp
    })),
    wireText(line(S1, 12))
  )
})

test('TASK_END completed (both copies) and failed with partial results', async (t) => {
  for (const seq of [15, 16]) {
    const f = volatile(S1, seq)
    t.equal(
      encodeServerMessage(buildTaskEnd({ sessionId: 'galaxy_task@t1', status: 'completed', result: f.result, timestamp: f.timestamp, responseId: f.response_id })),
      wireText(line(S1, seq))
    )
  }
  const failed = volatile('s3-device-dies-mid-task.jsonl', 14)
  t.equal(
    encodeServerMessage(buildTaskEnd({
      sessionId: 'galaxy_task@t1',
      status: 'failed',
      error: 'Task was cancelled because target device disconnected',
      result: failed.result,
      timestamp: failed.timestamp,
      responseId: failed.response_id
    })),
    wireText(line('s3-device-dies-mid-task.jsonl', 14))
  )
})

test('heartbeats: the device heartbeat and Galaxy heartbeat', async (t) => {
  const device = volatile(S1, 17)
  t.equal(encodeClientMessage(buildHeartbeat({ clientId: 'dev1', clientType: 'device', timestamp: device.timestamp })), wireText(line(S1, 17)))
  const galaxy = volatile(S1, 10)
  // Galaxy sends client_type "device" here (B1); the builder writes what it is told.
  t.equal(
    encodeClientMessage(buildHeartbeat({ clientId: 'galaxy_task@dev1', clientType: 'device', metadata: { device_id: 'dev1' }, timestamp: galaxy.timestamp })),
    wireText(line(S1, 10))
  )
})

test('server ERROR with a reference text', async (t) => {
  const f = volatile(S1, 11)
  t.equal(
    encodeServerMessage(buildServerError({ error: 'client_type does not match the registered connection', timestamp: f.timestamp, responseId: f.response_id })),
    wireText(line(S1, 11))
  )
})

test('server TASK of an HTTP dispatch', async (t) => {
  const f = volatile('s6-http-dispatch.jsonl', 3)
  t.equal(
    encodeServerMessage(buildServerTask({ sessionId: f.session_id, taskName: 'paint1', userRequest: 'Open paint', timestamp: f.timestamp, responseId: f.response_id })),
    wireText(line('s6-http-dispatch.jsonl', 3))
  )
})

test('client ERROR always carries status "error"', async (t) => {
  const message = buildClientError({ clientId: 'dev1', clientType: 'device', error: 'tool crashed', sessionId: 's1' })
  t.equal(message.status, 'error')
  t.equal(message.type, 'error')
  t.equal(message.session_id, 's1')
})
