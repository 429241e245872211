import type { CloseInfo } from '@aip/endpoint'
import { readDrainHint, resumeDelayCap } from '@aip/protocol'
import type { ReconnectableEndpoint } from '@aip/resilience'
import type { Device } from './device.js'
import type { DeviceConnection } from './device-connection.js'
import { DeviceDisconnectedError } from './errors.js'
import type { ConstellationHost } from './host.js'
import { endHold, holdForResume } from './resume.js'

/** The endpoint's overridable hooks, as recovery calls them. */
export interface RecoveryHooks {
  readonly cancelDeviceTasks: (deviceId: string, reason: string) => void | Promise<void>
  readonly onDeviceDisconnected: (deviceId: string) => void | Promise<void>
  readonly reconnectDevice: (deviceId: string, options?: { signal?: AbortSignal }) => Promise<boolean>
  readonly isDeviceConnected: (deviceId: string) => boolean
}

/**
 * A connection of `device` closed (the endpoint announced it as `disconnected`). An established connection that was
 * not closed on purpose fails the pending device-info requests, holds the running tasks for a resume when the server
 * granted one (before anyone hears of the loss: a state listener already sees `awaitingResume`), marks the device
 * `lost` and starts its recovery.
 */
export function connectionClosed (host: ConstellationHost, hooks: RecoveryHooks, device: Device, connection: DeviceConnection, info: CloseInfo): void {
  device.link.remove(connection)
  if (!connection.established || device.connection !== connection) return
  device.connection = undefined
  device.link.log.info({ deviceId: device.deviceId, url: device.serverUrl, code: info.code, reason: info.reason, local: info.local }, 'device connection closed')
  if (connection.closing || device.removed || host.stopped()) return
  const why = `connection closed (${info.code}${info.reason === '' ? '' : ` ${info.reason}`})`
  device.infos.failAll(() => new DeviceDisconnectedError(device.deviceId, 'the device info request', why))
  const error = new DeviceDisconnectedError(device.deviceId, 'its tasks', why)
  holdForResume(host, device)
  device.apply({ type: 'lose', cause: { kind: 'closed', code: info.code, message: why, error } })
  // A server that restarts on purpose may say how long to spread the reconnection over (1012 with its hint).
  const hint = readDrainHint(info.code, info.reason)
  if (hint !== null) device.link.log.info({ deviceId: device.deviceId, url: device.serverUrl, retryMs: hint.retryMs }, 'the server restarts: reconnecting within its hint')
  recover(host, hooks, device, hint?.retryMs).catch((err: unknown) => host.log.error({ err, deviceId: device.deviceId }, 'recovery failed'))
}

/**
 * The reference recovery, through the server's strategy: `cancelDeviceTasks`, `onDeviceDisconnected`, then
 * reconnection attempts (each one `reconnectDevice`: a round over the device's servers, each failure judged by the
 * device's failure judge) until reconnected or given up (state `failed`). One budget: the profile's `maxRetries`
 * when it sets one, else the strategy's. `hintMs`: a draining server's reconnect hint, the window the first attempt
 * is drawn in instead of its backoff.
 */
export async function recover (host: ConstellationHost, hooks: RecoveryHooks, device: Device, hintMs?: number): Promise<void> {
  const { deviceId } = device
  const { options } = host
  const controller = new AbortController()
  // A recovery still in flight is joined by the strategy, tied to its own signal: aborting this one aborts it too.
  const previous = device.recovery
  if (previous !== undefined) controller.signal.addEventListener('abort', () => { previous.abort(controller.signal.reason) }, { once: true })
  device.recovery = controller
  const reason = 'device_disconnected'
  const cancelDeviceTasks = async (id: string, why: string): Promise<void> => {
    try {
      await hooks.cancelDeviceTasks(id, why)
    } finally {
      // Whatever an override did, no running task outlives the connection that carried it, unless it is held
      // for a resume (continuity): then it fails when the resume does not come.
      if (device.hold === undefined) device.tasks.failRunning(why)
      if (!options.keepQueueWhileReconnecting) device.tasks.failQueued(why, 'disconnected')
    }
  }
  const onDeviceDisconnected = async (id: string): Promise<void> => { await hooks.onDeviceDisconnected(id) }
  let reconnected = false
  try {
    if (options.autoReconnect) {
      const endpoint: ReconnectableEndpoint = {
        cancelDeviceTasks,
        onDeviceDisconnected,
        reconnectDevice: async (id, attemptOptions) => {
          const ok = await hooks.reconnectDevice(id, attemptOptions)
          if (!ok && !controller.signal.aborted) {
            const verdict = device.judge.judge(device.lastFacts)
            if (!verdict.retry) {
              device.failure = verdict.reason
              controller.abort(device.lastError)
            } else if (verdict.free) {
              device.link.strategy.reset(id)
            }
          }
          return ok
        }
      }
      reconnected = await device.link.strategy.handleDisconnection(endpoint, deviceId, undefined, {
        signal: controller.signal,
        // Held tasks wait only for the server's resume window: come back well within it.
        maxDelayMs: device.hold === undefined ? undefined : resumeDelayCap(device.grant),
        firstAttemptWithinMs: hintMs,
        ...(device.profile.maxRetries === undefined ? {} : { maxRetries: device.profile.maxRetries })
      })
    } else {
      await cancelDeviceTasks(deviceId, reason).catch((err: unknown) => host.log.error({ err, deviceId }, 'cancelDeviceTasks failed'))
      await onDeviceDisconnected(deviceId).catch((err: unknown) => host.log.error({ err, deviceId }, 'onDeviceDisconnected failed'))
    }
  } catch (err) {
    host.log.info({ err, deviceId }, 'reconnection abandoned')
  } finally {
    if (device.recovery === controller) device.recovery = undefined
  }
  if (reconnected || hooks.isDeviceConnected(deviceId) || device.removed || host.stopped()) return
  if (device.attempt !== undefined || device.recovery !== undefined) return
  giveUp(device, device.lastError ?? new DeviceDisconnectedError(deviceId, 'its tasks', 'reconnection gave up'))
}

/** The device is given up: state `failed`, and everything pending on it fails. */
export function giveUp (device: Device, error: unknown): void {
  endHold(device)
  device.apply({
    type: 'giveUp',
    reason: device.failure === undefined ? 'exhausted' : 'fatal',
    error: error as Error,
    ...(device.failure === undefined ? {} : { failure: device.failure })
  })
  const reason = device.failure === undefined ? 'the device was given up' : `the device was given up (${device.failure})`
  device.tasks.failRunning(reason)
  device.tasks.failQueued(reason, 'disconnected')
  device.tasks.cancelled.releaseAll('disconnected')
  device.infos.failAll(() => new DeviceDisconnectedError(device.deviceId, 'the device info request', reason))
}
