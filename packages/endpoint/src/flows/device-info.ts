import { answersDeviceInfoRequest, buildDeviceInfoRequest, newId, type DecodedServerMessage } from '@aip/protocol'
import { AbortedError, TimeoutError, type Unsubscribe } from '@aip/resilience'
import { RequestRefusedError, TransportClosedError } from '../errors.js'
import { timeoutArgument } from '../options.js'
import type { AIPProtocol } from '../protocol/index.js'

/** Options of {@link requestDeviceInfo}. */
export interface DeviceInfoRequestOptions {
  /** The constellation's registered client id. */
  clientId: string
  /** The device asked about. */
  targetId: string
  /** Correlation id; a fresh uuid4 by default. */
  requestId?: string
  /** Default 10000 ms. */
  timeoutMs?: number
  signal?: AbortSignal
}

/**
 * The constellation side of device info: sends a DEVICE_INFO_REQUEST and resolves with the DEVICE_INFO_RESPONSE
 * whose `response_id` is the request's `request_id` (its `result` holds the information, or
 * `{ error: 'Device <id> not found or no system info available' }`). An ERROR or a response with status `error`
 * carrying that id rejects with `AIP_ERR_ENDPOINT_REQUEST_REFUSED`. The reference server's refusals carry no id
 * (B5): against it, a refusal ends in `AIP_ERR_TIMEOUT`.
 */
export function requestDeviceInfo (protocol: AIPProtocol<'client'>, options: DeviceInfoRequestOptions): Promise<DecodedServerMessage> {
  let timeoutMs: number
  try {
    timeoutMs = timeoutArgument('timeoutMs', options.timeoutMs) ?? 10_000
  } catch (err) {
    return Promise.reject(err)
  }
  const { signal } = options
  if (signal?.aborted === true) return Promise.reject(new AbortedError('device info request', signal.reason))
  const requestId = options.requestId ?? newId()
  return new Promise((resolve, reject) => {
    const subscriptions: Unsubscribe[] = []
    const finish = (settle: () => void): void => {
      clearTimeout(timer)
      for (const unsubscribe of subscriptions) unsubscribe()
      signal?.removeEventListener('abort', onAbort)
      settle()
    }
    const fail = (error: unknown): void => finish(() => reject(error))
    const onAbort = (): void => fail(new AbortedError('device info request', signal?.reason))
    const timer = setTimeout(() => fail(new TimeoutError('device info request', timeoutMs)), timeoutMs)
    timer.unref()
    const request = buildDeviceInfoRequest({ clientId: options.clientId, targetId: options.targetId, requestId })
    subscriptions.push(protocol.onAnyMessage((message) => {
      if (message.response_id !== requestId) return
      if (answersDeviceInfoRequest(message, request) && message.status !== 'error') finish(() => resolve(message))
      else if (message.type === 'error' || message.type === 'device_info_response') {
        fail(new RequestRefusedError('device info request', message.error ?? 'unknown error', message))
      }
    }))
    subscriptions.push(protocol.on('close', () => fail(new TransportClosedError())))
    signal?.addEventListener('abort', onAbort, { once: true })
    protocol.send(request).catch(fail)
  })
}
