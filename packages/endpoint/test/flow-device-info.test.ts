import t from 'tap'
import { buildDeviceInfoResponse, buildServerError } from '@aip/protocol'
import { requestDeviceInfo } from '../src/flows/device-info.js'
import { keepAlive, linkedProtocols } from './helpers.js'

t.test('the response whose response_id is the request_id answers the request', async (t) => {
  const { client, server } = linkedProtocols()
  t.teardown(() => client.close())
  server.onMessage('device_info_request', async (request) => {
    t.equal(request.target_id, 'dev1')
    t.equal(request.client_type, 'constellation')
    await server.send(buildDeviceInfoResponse({ requestId: 'other', result: { os: 'x' } }))
    await server.send(buildDeviceInfoResponse({ requestId: request.request_id as string, result: { os: 'linux' } }))
  })
  const response = await requestDeviceInfo(client, { clientId: 'c', targetId: 'dev1' })
  t.same(response.result, { os: 'linux' })
})

t.test('an ERROR carrying the request id is a coded refusal', async (t) => {
  const { client, server } = linkedProtocols()
  t.teardown(() => client.close())
  server.onMessage('device_info_request', async (request) => {
    await server.send(buildServerError({ error: 'Not authorized to request device info for this device', responseId: request.request_id as string }))
  })
  await t.rejects(requestDeviceInfo(client, { clientId: 'c', targetId: 'dev2', requestId: 'q1' }), {
    code: 'AIP_ERR_ENDPOINT_REQUEST_REFUSED', message: /Not authorized/
  })
})

t.test('no answer rejects with the coded timeout; abort and close release the request', async (t) => {
  keepAlive(t)
  const { client, server } = linkedProtocols()
  await t.rejects(requestDeviceInfo(client, { clientId: 'c', targetId: 'd', timeoutMs: 5 }), { code: 'AIP_ERR_TIMEOUT' })
  await t.rejects(requestDeviceInfo(client, { clientId: 'c', targetId: 'd', timeoutMs: 0 }), { code: 'AIP_ERR_INVALID_ARGUMENT' })
  const controller = new AbortController()
  controller.abort()
  await t.rejects(requestDeviceInfo(client, { clientId: 'c', targetId: 'd', signal: controller.signal }), { code: 'AIP_ERR_ABORTED' })
  const later = new AbortController()
  const aborted = requestDeviceInfo(client, { clientId: 'c', targetId: 'd', signal: later.signal })
  later.abort()
  await t.rejects(aborted, { code: 'AIP_ERR_ABORTED' })
  const pending = requestDeviceInfo(client, { clientId: 'c', targetId: 'd' })
  server.close()
  await t.rejects(pending, { code: 'AIP_ERR_ENDPOINT_TRANSPORT_CLOSED' })
  await t.rejects(requestDeviceInfo(client, { clientId: 'c', targetId: 'd' }), { code: 'AIP_ERR_ENDPOINT_TRANSPORT_CLOSED' })
})
