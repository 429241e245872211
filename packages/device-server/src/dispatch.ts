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
import type { DispatchOptions, DispatchedTask } from './types.js'

/** Sends a server TASK to a device (the reference `/api/dispatch`); see `DeviceServerEndpoint.dispatch`. */
export function dispatchTask (core: ServerCore, deviceId: string, request: string, options: DispatchOptions): DispatchedTask {
  if (core.stopped) throw new ServerStoppedError()
  if (core.draining) throw new ServerDrainingError()
  // An aborted signal fires no 'abort' event: refuse it here, or `done` would never settle.
  options.signal?.throwIfAborted()
  if (requestTooLarge(request, core.options.maxRequestBytes)) throw new RequestTooLargeError(core.options.maxRequestBytes)
  const connection = core.clients.get(deviceId)
  // A device away inside its resume window takes the task when it resumes (or the dispatch fails at the window's
  // end, as when it leaves): the caller is not told "not connected" for a blip of the device's network.
  const away = connection === undefined ? core.away.get(deviceId) : undefined
  const clientType = connection?.identity?.clientType ?? away?.identity.clientType
  if (clientType !== 'device') throw new ClientNotConnectedError(deviceId)
  if (core.dispatches.count(deviceId) >= core.options.maxDispatchesPerDevice) {
    throw new TooManyDispatchesError(deviceId, core.options.maxDispatchesPerDevice)
  }
  const sessionId = newId()
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
