import { CloseCode, UnexpectedBinaryError, type ProtocolEvents } from '@aip/endpoint'
import {
  buildDeviceInfoResponse, buildServerHeartbeat, deviceInfoUnavailable, newId, type DecodedClientMessage
} from '@aip/protocol'
import { granted } from './command-writer.js'
import type { ClientConnection, Identity } from './connection.js'
import type { ServerCore } from './core.js'
import { heartbeatText } from './heartbeat.js'
import { refuseFirstFrame, register } from './registration.js'
import { isObject, serverError } from './server-error.js'
import { admitTask } from './task-admission.js'
import { Texts, clip, echoId } from './texts.js'

/*
 * Where a connection's frames go, one after another: the first to registration, the next ones (of a pinned
 * identity) to the handler of their type.
 */

/**
 * A frame the connection's protocol could not decode: the first frame of a connection is refused (ERROR, close
 * 4002); a later one is answered with an ERROR carrying the ids it could read. A binary frame is refused and the
 * connection closed with 1003.
 */
export function onInvalidFrame (core: ServerCore, connection: ClientConnection, event: ProtocolEvents<'server'>['invalidFrame']): void {
  if (connection.closed || connection.overBudget) return
  if (event.error instanceof UnexpectedBinaryError) {
    // Never a silent drop (B17): say why, then close with 1003.
    connection.sendAndClose(serverError({ error: Texts.binaryNotAccepted }), CloseCode.UnsupportedData, 'binary frame')
    core.events.emit('frameRejected', { code: 'binary_frame' })
    return
  }
  if (connection.identity === null) {
    refuseFirstFrame(core, connection, event.error.message)
    return
  }
  core.logger.debug({ clientId: connection.identity.clientId, code: event.error.code }, 'malformed frame')
  core.events.emit('frameRejected', { code: event.error.code })
  connection.send(serverError({ error: event.error.message, sessionId: event.correlation?.sessionId, responseId: event.correlation?.requestId }))
}

/**
 * Handles one decoded message of a connection (in order: its protocol calls this for one message at a time): the
 * first to registration, the next ones to the handler of their type.
 */
export function onMessage (core: ServerCore, connection: ClientConnection, message: DecodedClientMessage, frameSize: number): void | Promise<void> {
  const identity = connection.identity
  if (identity !== null && core.clients.get(identity.clientId) !== connection) {
    fence(core, connection, identity)
    return
  }
  if (connection.closed || connection.overBudget) return
  if (identity === null) return register(core, connection, message)
  return route(core, connection, identity, message, frameSize)
}

/**
 * Drops a frame of a connection that is no longer its client's current one (replaced by a takeover, or its client
 * away or resumed elsewhere): it can neither complete nor alter work.
 */
function fence (core: ServerCore, connection: ClientConnection, identity: Identity): void {
  core.fencedFrames++
  core.logger.debug({ clientId: identity.clientId, connectionId: connection.connectionId, epoch: identity.epoch }, 'frame of a replaced connection dropped')
  core.events.emit('frameFenced', { clientId: identity.clientId, connectionId: connection.connectionId })
}

/**
 * Routes a decoded message of a registered client by its type, after checking it speaks as its identity. Returns a
 * promise only for what waits on the cluster (a TASK or a device-info request for a device on another node), so
 * that the connection's next frame waits for it.
 */
function route (core: ServerCore, connection: ClientConnection, identity: Identity, message: DecodedClientMessage, frameSize: number): Promise<void> | undefined {
  if (message.client_id !== null && message.client_id !== identity.clientId) {
    connection.send(serverError({ error: Texts.clientIdMismatch, sessionId: message.session_id, responseId: message.request_id ?? undefined }))
    return
  }
  if (message.client_type !== identity.clientType) {
    connection.send(serverError({ error: Texts.clientTypeMismatch, sessionId: message.session_id, responseId: message.request_id ?? undefined }))
    return
  }
  switch (message.type) {
    case 'heartbeat': {
      const answer = buildServerHeartbeat()
      connection.sendEncoded(answer, heartbeatText(answer))
      return
    }
    case 'error':
      core.logger.warn({ clientId: identity.clientId, sessionId: echoId(message.session_id), error: clip(message.error ?? '') }, 'client reported an error')
      connection.send(serverError({ error: message.error ?? Texts.unknownError, sessionId: message.session_id }))
      return
    case 'register':
    case 'task_end':
      connection.send(serverError({ error: Texts.unknownType(message.type), sessionId: message.session_id }))
      return
    case 'device_info_response':
      // The reference ignores it; we take it as a telemetry push from a device.
      if (identity.clientType === 'device' && isObject(message.metadata)) {
        const record = core.options.registry.get(identity.clientId)
        if (record !== undefined) {
          record.systemInfo = message.metadata
          core.cluster?.telemetry(record)
          core.events.emit('clientTelemetry', { clientId: identity.clientId })
        }
      }
      return
    case 'device_info_request':
      return onDeviceInfoRequest(core, connection, identity, message)
    case 'task':
      return admitTask(core, connection, identity, message, frameSize)
    case 'command_results':
      onCommandResults(core, identity, message)
      return
    case 'task_cancel':
      onTaskCancel(core, connection, identity, message)
  }
}

/**
 * `task_cancel` (the continuity extension): only from a client granted `cancel` (any other gets the ERROR of a
 * type the server does not take), only for a running session that client requested. The session is cancelled:
 * its TASK_END `failed` is the answer.
 */
function onTaskCancel (core: ServerCore, connection: ClientConnection, identity: Identity, message: DecodedClientMessage): void {
  if (!granted(identity, 'cancel')) {
    connection.send(serverError({ error: Texts.unknownType(message.type), sessionId: message.session_id }))
    return
  }
  const sessionId = message.session_id
  const session = sessionId === null ? undefined : core.sessions.get(sessionId)
  if (session === undefined && core.cluster?.cancelForwarded(connection, identity, message) === true) return
  if (sessionId === null || session === undefined || session.ended) {
    connection.send(serverError({ error: Texts.sessionNotRunning(sessionId ?? ''), sessionId, responseId: message.request_id ?? undefined }))
    return
  }
  if (session.requesterId !== identity.clientId) {
    connection.send(serverError({ error: Texts.sessionOwned(sessionId), sessionId, responseId: message.request_id ?? undefined }))
    return
  }
  core.logger.info({ sessionId, deviceId: session.deviceId, traceId: session.trace?.traceId, clientId: identity.clientId, reason: clip(message.error ?? '', 256) }, 'task cancel requested')
  core.cancelSession(session, 'cancelled by the requester')
}

function onDeviceInfoRequest (core: ServerCore, connection: ClientConnection, identity: Identity, message: DecodedClientMessage): Promise<void> | undefined {
  const ids = { responseId: message.request_id ?? undefined }
  if (identity.clientType !== 'constellation') {
    connection.send(serverError({ error: Texts.deviceInfoOnlyConstellation, ...ids }))
    return
  }
  const deviceId = message.target_id ?? identity.targetId
  // Device info is scoped: an unscoped constellation reads nothing (B11).
  if (deviceId === null || identity.targetId !== deviceId) {
    connection.send(serverError({ error: Texts.deviceInfoNotAuthorized, ...ids }))
    return
  }
  const record = core.options.registry.get(deviceId)
  const answer = (info: unknown): void => {
    connection.send(buildDeviceInfoResponse({ requestId: message.request_id ?? newId(), result: info ?? deviceInfoUnavailable(deviceId) }))
  }
  const cluster = core.cluster
  // A device on another node of the cluster: its telemetry is read from its lease.
  if (record === undefined && cluster !== null) return cluster.locate(deviceId).then((holder) => { answer(holder?.systemInfo ?? null) })
  answer(record?.systemInfo ?? null)
  return undefined
}

function onCommandResults (core: ServerCore, identity: Identity, message: DecodedClientMessage): void {
  const session = message.session_id === null ? undefined : core.sessions.get(message.session_id)
  // Only the session's executor may answer, and only a COMMAND still waiting (the reference drops the rest).
  if (session === undefined || session.deviceId !== identity.clientId || message.prev_response_id === null ||
    !session.deliver(message.prev_response_id, message.action_results ?? [])) {
    core.logger.debug({ clientId: identity.clientId, sessionId: message.session_id }, 'unexpected COMMAND_RESULTS dropped')
  }
}
