import type { AIPProtocol } from '@aip/endpoint'
import { granted } from './continuity.js'
import type { Device } from './device.js'
import type { ConstellationHost } from './host.js'

/** The running tasks of a device whose connection dropped, waiting for a registration that resumes them. */
export interface ResumeHold {
  /** The server's resume window, from the grant of the lost connection. */
  readonly windowMs: number
  /** Fails the held tasks when no registration came within the window and the margin. */
  readonly timer: NodeJS.Timeout
}

/** The message of a task that was held and not resumed. */
const notResumed = (why: string): string => `the session was not resumed: ${why}`

/**
 * The device's established connection dropped (not on purpose). When its server granted `resume` (and the
 * constellation reconnects by itself), the running tasks and the slots of cancelled ones are held, not failed: a
 * timer of the granted window + `resumeMarginMs` fails them if no registration comes. Returns whether they are
 * held; when not, the cancelled slots are released at once (the server cancels the sessions of a connection it
 * does not hold).
 */
export function holdForResume (host: ConstellationHost, device: Device): boolean {
  const { options } = host
  const grant = device.grant
  const tasks = device.tasks
  if (!options.autoReconnect || grant === null || !granted(grant, 'resume') || tasks.busySlots === 0) {
    tasks.cancelled.releaseAll('disconnected')
    return false
  }
  const windowMs = grant.resumeWindowMs
  const waitMs = windowMs + options.resumeMarginMs
  const { deviceId } = device
  const timer = setTimeout(() => {
    if (device.hold?.timer !== timer) return
    device.hold = undefined
    device.link.log.warn({ deviceId, windowMs, marginMs: options.resumeMarginMs }, 'no registration within the resume window: failing the held tasks')
    tasks.failRunning(notResumed(`no registration within the resume window (${windowMs} ms + ${options.resumeMarginMs} ms)`))
    tasks.cancelled.releaseAll('disconnected')
  }, waitMs)
  timer.unref()
  device.hold = { windowMs, timer }
  const held = tasks.running.size
  device.link.log.info({ deviceId, tasks: held, cancelling: tasks.cancelled.size, windowMs }, 'connection lost: running tasks wait for the resume')
  host.emit('deviceAway', { deviceId, tasks: held, windowMs })
  return true
}

/**
 * The device registered again on `protocol` (its new grant already in `device.grant`). Held tasks go on when the
 * server says it resumed the sessions: each is written again as its TASK (same session id) and each pending cancel
 * again as its `task_cancel`. Otherwise (`resumed` false, or no grant: a restarted server, or the window passed)
 * they fail with `AIP_ERR_CONSTELLATION_DEVICE_DISCONNECTED` and their slots are freed. No effect without a hold.
 */
export function resumeOrFail (host: ConstellationHost, device: Device, protocol: AIPProtocol<'client'>): void {
  const hold = device.hold
  if (hold === undefined) return
  endHold(device)
  const grant = device.grant
  const { deviceId, tasks } = device
  if (grant !== null && grant.resumed && granted(grant, 'resume')) {
    const resent = tasks.resend(protocol)
    tasks.cancelled.resend(protocol)
    device.link.log.info({ deviceId, tasks: resent, epoch: grant.epoch }, 'device resumed: running tasks sent again')
    host.emit('deviceResumed', { deviceId, tasks: resent, epoch: grant.epoch })
    return
  }
  const why = grant === null
    ? 'the server granted no continuity when the constellation registered again (a server restarted without it?)'
    : 'the server did not take it over when the constellation registered again (the resume window had passed, or the server restarted)'
  device.link.log.warn({ deviceId, tasks: tasks.running.size }, 'device not resumed: failing the held tasks')
  tasks.failRunning(notResumed(why))
  tasks.cancelled.releaseAll('disconnected')
}

/** Clears the device's hold, if any (resumed, given up, or removed). */
export function endHold (device: Device): void {
  if (device.hold === undefined) return
  clearTimeout(device.hold.timer)
  device.hold = undefined
}
