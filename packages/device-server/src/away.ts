import type { Credential } from './auth.js'
import { granted } from './command-writer.js'
import type { ClientConnection, Identity } from './connection.js'
import type { ServerCore } from './core.js'
import { ClientNotConnectedError } from './errors.js'

/*
 * The way out of a registered client (and, for a client granted `resume`, the way back): a connection that closes
 * either ends the client (its sessions cancelled, its dispatches rejected, `clientDisconnected`) or, when the
 * client was granted `resume` and did not leave on purpose, makes it away for the resume window.
 */

/** A client granted `resume` whose connection dropped, while its resume window runs. */
export interface AwayClient {
  readonly identity: Identity
  /** The credential of the dropped connection: only the same one may resume the id. */
  readonly credential: Credential
  /** When it went away (the endpoint's clock). */
  readonly since: number
  /** Close code and reason of the dropped connection, for `clientDisconnected` at expiry. */
  readonly code: number
  readonly reason: string
  readonly timer: NodeJS.Timeout
  /**
   * Sessions of an away device that ended meanwhile (their TASK_END copy could not be sent): sent on its resume, so
   * that it stops their work and drops their cached results. At most {@link MAX_MISSED_ENDS}.
   */
  readonly missedEnds: string[]
}

/** TASK_ENDs kept for one away device; older ones are dropped (the device's own bounds clean up after them). */
export const MAX_MISSED_ENDS = 1_000

/** WebSocket normal closure: sent by a client, it means "I am leaving on purpose". */
const NORMAL_CLOSE = 1000

/**
 * A connection closed (or was replaced): when it was a registered client's current one, the client goes away
 * (granted `resume`, not a normal close of its own, the server not stopping) or leaves for good.
 */
export async function unregister (core: ServerCore, connection: ClientConnection, code: number, reason: string): Promise<void> {
  const identity = connection.identity
  if (identity === null || core.clients.get(identity.clientId) !== connection) return
  core.clients.delete(identity.clientId)
  const leftOnPurpose = code === NORMAL_CLOSE && connection.closeInfo?.local !== true
  if (granted(identity, 'resume') && !leftOnPurpose && !core.stopped && core.options.resumeWindowMs > 0) {
    goAway(core, connection, identity, code, reason)
    return
  }
  await leave(core, identity, code, reason, false)
}

function goAway (core: ServerCore, connection: ClientConnection, identity: Identity, code: number, reason: string): void {
  const window = core.options.resumeWindowMs
  const timer = setTimeout(() => { expire(core, entry) }, window)
  timer.unref()
  const entry: AwayClient = { identity, credential: connection.credential, since: core.options.now(), code, reason, timer, missedEnds: [] }
  core.away.set(identity.clientId, entry)
  core.cluster?.wentAway(identity)
  core.logger.info({ clientId: identity.clientId, clientType: identity.clientType, code, resumeWindowMs: window }, 'client away: its sessions are held')
  core.events.emit('clientAway', { clientId: identity.clientId, clientType: identity.clientType, code, reason, resumeWindowMs: window })
}

function expire (core: ServerCore, entry: AwayClient): void {
  const { clientId } = entry.identity
  if (core.away.get(clientId) !== entry) return
  core.away.delete(clientId)
  core.logger.info({ clientId, resumeWindowMs: core.options.resumeWindowMs }, 'client did not come back within its resume window')
  leave(core, entry.identity, entry.code, entry.reason, true).catch((err: unknown) => core.logger.error({ err, clientId }, 'leaving after the resume window failed'))
}

/**
 * Ends the away state of `clientId` for good at once (the server stops, or the id registers again without
 * resuming): its sessions are cancelled as at the window's expiry. Resolves once done; at once when it is not away.
 */
export async function endAway (core: ServerCore, clientId: string): Promise<void> {
  const entry = core.away.get(clientId)
  if (entry === undefined) return
  clearTimeout(entry.timer)
  core.away.delete(clientId)
  await leave(core, entry.identity, entry.code, entry.reason, true)
}

/**
 * Takes `clientId` back from the away state for a resuming registration: its timer is cleared and its entry
 * returned (`undefined` when it is not away).
 */
export function takeBack (core: ServerCore, clientId: string): AwayClient | undefined {
  const entry = core.away.get(clientId)
  if (entry === undefined) return undefined
  clearTimeout(entry.timer)
  core.away.delete(clientId)
  return entry
}

/**
 * The client is gone: it leaves the registry, the sessions it runs or requested are cancelled (with the resume
 * window's text when `expired`), its dispatches rejected, and `clientDisconnected` is emitted.
 */
async function leave (core: ServerCore, identity: Identity, code: number, reason: string, expired: boolean): Promise<void> {
  const { clientId, clientType } = identity
  // A registration of the same id may have happened meanwhile (a takeover that did not resume): it owns these now.
  if (!core.clients.has(clientId)) core.options.registry.remove(clientId)
  if (core.logs('info')) core.logger.info({ clientId, clientType, code }, 'client disconnected')
  core.cluster?.left(identity, expired)
  if (clientType === 'device') {
    for (const session of core.sessions.list()) {
      if (session.deviceId === clientId) core.cancelSession(session, expired ? 'device_not_resumed' : 'device_disconnected')
    }
    core.dispatches.rejectDevice(clientId, new ClientNotConnectedError(clientId))
    await core.onDeviceDisconnected(clientId).catch((err: unknown) => {
      core.logger.error({ err, deviceId: clientId }, 'onDeviceDisconnected failed')
    })
  }
  for (const session of core.sessions.list()) {
    if (session.requesterId === clientId) core.cancelSession(session, expired ? 'requester_not_resumed' : 'requester_disconnected')
  }
  core.events.emit('clientDisconnected', { clientId, clientType, code, reason })
}
