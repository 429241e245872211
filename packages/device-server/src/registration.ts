import { CloseCode, validateRegistration, type RegistrationClaim } from '@aip/endpoint'
import { buildRegistrationConfirmation, type DecodedClientMessage } from '@aip/protocol'
import type { Credential } from './auth.js'
import type { ClientConnection, Identity } from './connection.js'
import type { ServerCore } from './core.js'
import { ClientNotConnectedError } from './errors.js'
import type { ClientRecord } from './registry.js'
import { isObject, serverError } from './server-error.js'
import { MAX_ID_CHARS, Texts } from './texts.js'

/*
 * REGISTER policy: the first frame of a connection either gives it an identity (client id, role, target) pinned
 * for its whole life, or is refused with an ERROR naming the cause and a close. And the way back: a registered
 * client's connection closes, its sessions are cancelled and its dispatches rejected.
 */

/** May a connection holding `next` take over an id registered with `current`? Keys must be the same one. */
function sameCredential (current: Credential, next: Credential): boolean {
  if (current.kind !== 'client') return true
  return next.kind === 'client' && next.binding === current.binding
}

function refuse (core: ServerCore, connection: ClientConnection, error: string, logReason: string, fields: Record<string, unknown> = {}): void {
  core.logger.info({ connectionId: connection.connectionId, reason: logReason, ...fields }, 'registration refused')
  connection.sendAndClose(serverError({ error }), CloseCode.RegistrationRefused, logReason)
  core.events.emit('registrationRefused', { reason: logReason })
}

/** The refusal of a REGISTER by the credential it came with, or `null` when the credential allows it. */
function credentialRefusal (core: ServerCore, credential: Credential, claim: RegistrationClaim): [string, string, Record<string, unknown>] | null {
  const { clientId, clientType, targetId } = claim
  if (credential.kind === 'client') {
    const { binding } = credential
    if (credential.clientId !== clientId) return [Texts.clientIdNotAllowed, 'client key bound to another id', { clientId }]
    if (binding.clientType !== clientType) return [Texts.clientTypeNotAllowed, 'client key bound to another role', { clientId, clientType }]
    if (clientType === 'constellation' && binding.targets !== null && (targetId === null || !binding.targets.has(targetId))) {
      return [Texts.targetNotAllowed, 'client key does not allow this target', { clientId, targetId }]
    }
  } else if (credential.kind === 'shared' && core.options.clientKeys.has(clientId)) {
    // An id with its own key is registered only with that key: the shared token cannot take it, nor lock it out.
    return [Texts.clientIdNeedsOwnKey, 'client id has its own key', { clientId }]
  }
  if (targetId !== null) {
    const target = core.clients.get(targetId)
    if (target === undefined) return [Texts.targetNotConnected(targetId), 'target not connected', { clientId, targetId }]
    if (target.identity?.clientType !== 'device') return [Texts.targetIsNotDevice(targetId), 'target not a device', { clientId, targetId }]
  }
  return null
}

/** Refuses a first frame that could not be decoded (ERROR with the decoding error, then close 4002). */
export function refuseFirstFrame (core: ServerCore, connection: ClientConnection, error: string): void {
  refuse(core, connection, error, 'invalid first frame')
}

/** Handles the first message of a connection: registers it, or refuses it (ERROR, then close 4002). */
export async function register (core: ServerCore, connection: ClientConnection, message: DecodedClientMessage): Promise<void> {
  // The shape (a REGISTER with a client_id) is the endpoint's registration flow; the words and the policy are ours.
  const check = validateRegistration(message)
  if (!check.ok) {
    if (check.refusal === 'not_register') refuse(core, connection, Texts.firstMessageNotRegister, 'first frame not REGISTER', { type: message.type })
    else refuse(core, connection, Texts.registerNeedsClientId, 'no client_id')
    return
  }
  const { clientId, clientType, targetId, metadata } = check.claim
  if (clientId.length > MAX_ID_CHARS || (message.target_id?.length ?? 0) > MAX_ID_CHARS) {
    refuse(core, connection, Texts.idTooLong(clientId.length > MAX_ID_CHARS ? 'client_id' : 'target_id'), 'id too long')
    return
  }
  const refusal = credentialRefusal(core, connection.credential, check.claim)
  if (refusal !== null) {
    refuse(core, connection, ...refusal)
    return
  }
  const existing = core.clients.get(clientId)
  if (existing !== undefined) {
    // Only the same credential may take a registered id over: a per-client key's owner, or, when the id has no
    // key, any connection once the old socket is proven dead (no pong, no frame within takeoverProbeMs).
    if (!sameCredential(existing.credential, connection.credential)) {
      refuse(core, connection, Texts.duplicateClient(clientId), 'duplicate client_id (other credential)', { clientId })
      return
    }
    // A device whose old socket is dead takes over at once instead of being locked out until it times out.
    const alive = await existing.probe(core.options.takeoverProbeMs)
    if (alive || connection.closed || core.clients.get(clientId) !== existing) {
      refuse(core, connection, Texts.duplicateClient(clientId), 'duplicate client_id', { clientId })
      return
    }
    core.logger.warn({ clientId }, 'old connection did not answer a ping: replaced by the new one')
    existing.close(CloseCode.Replaced, Texts.replaced)
    existing.transport.terminate()
    await unregister(core, existing, CloseCode.Replaced, Texts.replaced)
  }
  if (connection.closed) return
  const record: ClientRecord = {
    clientId,
    clientType,
    targetId,
    platform: clientType === 'device' && typeof metadata?.platform === 'string' ? metadata.platform : null,
    systemInfo: clientType === 'device' && isObject(metadata?.system_info) ? metadata.system_info : null,
    metadata,
    registeredAt: core.options.now()
  }
  const identity: Identity = { clientId, clientType, targetId }
  connection.identity = identity
  if (connection.registrationTimer !== null) connection.cancelTimer(connection.registrationTimer)
  connection.registrationTimer = null
  core.clients.set(clientId, connection)
  core.options.registry.add(record)
  connection.send(buildRegistrationConfirmation())
  core.logger.info({ clientId, clientType, targetId }, 'client registered')
  core.events.emit('clientRegistered', record)
}

/**
 * A connection closed (or was replaced): when it was a registered client's, the client leaves the registry, the
 * sessions it runs or requested are cancelled, its dispatches rejected, and `clientDisconnected` is emitted.
 */
export async function unregister (core: ServerCore, connection: ClientConnection, code: number, reason: string): Promise<void> {
  const identity = connection.identity
  if (identity === null || core.clients.get(identity.clientId) !== connection) return
  core.clients.delete(identity.clientId)
  core.options.registry.remove(identity.clientId)
  core.logger.info({ clientId: identity.clientId, clientType: identity.clientType, code }, 'client disconnected')
  if (identity.clientType === 'device') {
    for (const session of core.sessions.list()) {
      if (session.deviceId === identity.clientId) core.cancelSession(session, 'device_disconnected')
    }
    core.dispatches.rejectDevice(identity.clientId, new ClientNotConnectedError(identity.clientId))
    await core.onDeviceDisconnected(identity.clientId).catch((err: unknown) => {
      core.logger.error({ err, deviceId: identity.clientId }, 'onDeviceDisconnected failed')
    })
  }
  for (const session of core.sessions.list()) {
    if (session.requesterId === identity.clientId) core.cancelSession(session, 'requester_disconnected')
  }
  core.events.emit('clientDisconnected', { clientId: identity.clientId, clientType: identity.clientType, code, reason })
}
