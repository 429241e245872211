import { buildServerTask, newId, sanitizeTaskName } from '@aip/protocol'
import { holdsCommands } from './command-writer.js'
import type { ClientConnection } from './connection.js'
import type { ServerCore } from './core.js'
import type { PendingDispatch } from './dispatch-table.js'
import {
  ClientNotConnectedError, RequestTooLargeError, ServerDrainingError, ServerStoppedError, SessionCancelledError, TooManyDispatchesError
} from './errors.js'
import type { TaskRecord } from './results.js'
import { requestTooLarge } from './server-error.js'
import type { CancelReason, DispatchOptions, DispatchedTask } from './types.js'

/**
 * Sends a server TASK to a device (the reference `/api/dispatch`); see `DeviceServerEndpoint.dispatch`. In a cluster,
 * a device connected to another node gets it through that node (answered asynchronously).
 */
export function dispatchTask (core: ServerCore, deviceId: string, request: string, options: DispatchOptions): DispatchedTask | Promise<DispatchedTask> {
  checkDispatch(core, request, options.signal)
  const cluster = core.cluster
  if (cluster !== null && cluster.isRemote(deviceId)) return cluster.dispatches.dispatch(deviceId, request, options)
  return dispatchHere(core, deviceId, request, options, newId())
}

/** Throws what refuses any dispatch on this server: stopped, draining, an aborted signal, a request over `maxRequestBytes`. */
export function checkDispatch (core: ServerCore, request: string, signal?: AbortSignal): void {
  if (core.stopped) throw new ServerStoppedError()
  if (core.draining) throw new ServerDrainingError()
  // An aborted signal fires no 'abort' event: refuse it here, or `done` would never settle.
  signal?.throwIfAborted()
  if (requestTooLarge(request, core.options.maxRequestBytes)) throw new RequestTooLargeError(core.options.maxRequestBytes)
}

/**
 * Dispatches to a device connected to this server (or away inside its resume window), under `sessionId`: the
 * server TASK goes out now, or when the device resumes.
 */
export function dispatchHere (core: ServerCore, deviceId: string, request: string, options: DispatchOptions, sessionId: string): DispatchedTask {
  const connection = core.clients.get(deviceId)
  // A device away inside its resume window takes the task when it resumes (or the dispatch fails at the window's
  // end, as when it leaves): the caller is not told "not connected" for a blip of the device's network.
  const away = connection === undefined ? core.away.get(deviceId) : undefined
  const clientType = connection?.identity?.clientType ?? away?.identity.clientType
  if (clientType !== 'device') throw new ClientNotConnectedError(deviceId)
  if (core.dispatches.count(deviceId) >= core.options.maxDispatchesPerDevice) {
    throw new TooManyDispatchesError(deviceId, core.options.maxDispatchesPerDevice)
  }
  const taskName = sanitizeTaskName(options.taskName ?? sessionId)
  let pending!: PendingDispatch
  const done = new Promise<TaskRecord>((resolve, reject) => {
    pending = { sessionId, taskName, request, resolve, reject }
  })
  core.dispatches.add(deviceId, pending)
  const stop = bindDispatchLimits(core, deviceId, pending, options)
  done.then(stop, stop)
  const sent = connection?.send(buildServerTask({ sessionId, taskName, userRequest: request })) ?? false
  if (sent) return { sessionId, taskName, done }
  if (holdsCommands(core, deviceId)) {
    core.logger.info({ sessionId, deviceId }, 'dispatch held for a device away: sent when it resumes')
  } else {
    core.dispatches.settle(deviceId, sessionId, new ClientNotConnectedError(deviceId))
  }
  return { sessionId, taskName, done }
}

/**
 * Cancels a dispatch as `cancelSession()` does: a running session ends with TASK_END failed (`done` resolves with its
 * record); one the device has not taken up is withdrawn (`done` rejects with `AIP_ERR_SERVER_SESSION_CANCELLED`).
 * False when no dispatch of `deviceId` runs under this id.
 */
export function withdrawDispatch (core: ServerCore, deviceId: string, sessionId: string, reason: string): boolean {
  const session = core.sessions.get(sessionId)
  if (session !== undefined && session.deviceId === deviceId) {
    core.cancelSession(session, reason as CancelReason)
    return true
  }
  for (const [id, pending] of core.dispatches.entries()) {
    if (id !== deviceId || pending.sessionId !== sessionId) continue
    core.logger.info({ sessionId, reason }, 'dispatched task cancelled before the device took it up')
    core.dispatches.settle(deviceId, sessionId, new SessionCancelledError(sessionId, reason))
    return true
  }
  return false
}

/**
 * Sends a resumed device, again and in order, the server TASKs of its dispatches that it has not taken up: those
 * dispatched while it was away, and those whose TASK may have been lost with its dropped connection (the device
 * answers one it already took up with a TASK the server refuses as a session in use). Returns how many.
 */
export function resendDispatches (core: ServerCore, deviceId: string, connection: ClientConnection): number {
  let count = 0
  for (const [id, pending] of core.dispatches.entries()) {
    if (id !== deviceId || core.sessions.get(pending.sessionId) !== undefined) continue
    if (!connection.send(buildServerTask({ sessionId: pending.sessionId, taskName: pending.taskName, userRequest: pending.request }))) break
    count++
  }
  return count
}

/** Cancels a dispatch at its deadline or when its signal aborts; returns the function that releases both. */
function bindDispatchLimits (core: ServerCore, deviceId: string, pending: PendingDispatch, options: DispatchOptions): () => void {
  const cancel = (err: Error): void => {
    // `done` rejects with the cause, whether or not the device has taken the task up; a running session ends
    // with that cause in its TASK_END ("Task was cancelled: timed out").
    core.dispatches.settle(deviceId, pending.sessionId, err)
    const session = core.sessions.get(pending.sessionId)
    if (session !== undefined && !session.aborted) {
      core.logger.info({ sessionId: session.id, reason: err.message }, 'dispatched task cancelled')
      session.cancel(err)
    }
  }
  const onAbort = (): void => cancel(new SessionCancelledError(pending.sessionId, 'aborted'))
  options.signal?.addEventListener('abort', onAbort, { once: true })
  // Every dispatch has a deadline: without one, a device that never takes the task up would hold it forever.
  const timer = setTimeout(() => cancel(new SessionCancelledError(pending.sessionId, 'timed out')), options.timeoutMs ?? core.options.dispatchTimeoutMs)
  timer.unref()
  return () => {
    clearTimeout(timer)
    options.signal?.removeEventListener('abort', onAbort)
  }
}
