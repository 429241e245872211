import { RESENT_FIELD, TIMEOUT_KEY, type ContinuityCapability } from '@aip/protocol'
import type { Identity } from './connection.js'
import type { ServerCore } from './core.js'
import type { OutstandingCommand, Session } from './session.js'

/** Did the registration of `identity` get `capability` (the continuity extension)? */
export function granted (identity: Identity | null | undefined, capability: ContinuityCapability): boolean {
  return identity?.grant?.capabilities.includes(capability) === true
}

/**
 * Writes a COMMAND of `session` to its device's current connection, with its extension fields: its
 * `traceparent`; `aip_resent: true` when it was written before (to a device granted `resume`, after it resumed);
 * `aip_timeout_ms` (the time left of the command's timeout and of the task's deadline) to a device granted
 * `deadline`. A device that asked for nothing sees the COMMAND exactly as before. False when the device has no
 * connection that takes it (away, or closing).
 */
export function writeCommand (core: ServerCore, session: Session, outgoing: OutstandingCommand): boolean {
  const device = core.clients.get(session.deviceId)
  if (device === undefined) return false
  const identity = device.identity
  const resent = outgoing.sent && granted(identity, 'resume')
  const deadline = granted(identity, 'deadline')
  let extra = outgoing.extra
  if (resent || deadline) {
    const fields: Record<string, unknown> = { ...extra }
    if (resent) fields[RESENT_FIELD] = true
    if (deadline) {
      const now = core.options.now()
      const due = session.deadlineAt === null ? outgoing.dueAt : Math.min(outgoing.dueAt, session.deadlineAt)
      fields[TIMEOUT_KEY] = Math.max(1, Math.ceil(due - now))
    }
    extra = fields
  }
  if (!device.send(outgoing.command, extra)) return false
  outgoing.sent = true
  return true
}

/**
 * Will the COMMANDs of a session on `deviceId` be kept for it when they cannot be written now? Yes while the
 * device is away, or while its connection, granted `resume`, is closing (it goes away next).
 */
export function holdsCommands (core: ServerCore, deviceId: string): boolean {
  return core.away.has(deviceId) || granted(core.clients.get(deviceId)?.identity, 'resume')
}

/** Writes again, in order, every COMMAND still waiting for results of the sessions `deviceId` runs; returns how many. */
export function resendCommands (core: ServerCore, deviceId: string): number {
  let count = 0
  for (const session of core.sessions.list()) {
    if (session.deviceId !== deviceId || session.aborted) continue
    for (const outgoing of session.outstanding()) {
      if (!writeCommand(core, session, outgoing)) return count
      count++
    }
  }
  return count
}
