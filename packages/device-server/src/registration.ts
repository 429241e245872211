import { CloseCode, validateRegistration, type RegistrationClaim } from '@aip/endpoint'
import {
  GRANT_FIELD, buildRegistrationConfirmation, buildTaskEnd, grantField, requestedCapabilities, type AipCapability, type ContinuityGrant, type DecodedClientMessage
} from '@aip/protocol'
import type { Credential } from './auth.js'
import { endAway, takeBack, unregister, type AwayClient } from './away.js'
import { resendCommands } from './command-writer.js'
import { resendDispatches } from './dispatch.js'
import type { ClientConnection, Identity } from './connection.js'
import type { ServerCore } from './core.js'
import { heartbeatText } from './heartbeat.js'
import { mayGrantPresence } from './presence.js'
import type { ClientRecord } from './registry.js'
import { isObject, serverError } from './server-error.js'
import { MAX_ID_CHARS, Texts } from './texts.js'

/*
 * REGISTER policy: the first frame of a connection either gives it an identity (client id, role, target) pinned
 * for its whole life, or is refused with an ERROR naming the cause and a close. A client that asked for the
 * continuity extension is answered with its grant; one that was away (granted `resume`, its connection dropped)
 * resumes its sessions. The way out is `away.ts`.
 */

export { unregister } from './away.js'

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

/** A refusal of a REGISTER: the ERROR's text, the reason logged, the fields logged with it. */
type Refusal = [string, string, Record<string, unknown>]

/**
 * The refusal of a REGISTER by the credential it came with, or `null` when the credential allows it. Decided at once
 * unless the target must be looked up on the cluster: a promise only then.
 */
function credentialRefusal (core: ServerCore, credential: Credential, claim: RegistrationClaim): Refusal | null | Promise<Refusal | null> {
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
  if (targetId === null) return null
  // A device away inside its resume window is still the target it was; in a cluster, it may be on another node.
  const target = core.clients.get(targetId)?.identity ?? core.away.get(targetId)?.identity
  if (target !== undefined || core.cluster === null) return targetRefusal(clientId, targetId, target)
  return core.cluster.locate(targetId).then((found) => targetRefusal(clientId, targetId, found ?? undefined))
}

/** The refusal of a REGISTER scoped to `targetId`, whose identity is `target` (`undefined`: connected nowhere). */
function targetRefusal (clientId: string, targetId: string, target: { readonly clientType: string } | undefined): Refusal | null {
  if (target === undefined) return [Texts.targetNotConnected(targetId), 'target not connected', { clientId, targetId }]
  if (target.clientType !== 'device') return [Texts.targetIsNotDevice(targetId), 'target not a device', { clientId, targetId }]
  return null
}

/** Refuses a first frame that could not be decoded (ERROR with the decoding error, then close 4002). */
export function refuseFirstFrame (core: ServerCore, connection: ClientConnection, error: string): void {
  refuse(core, connection, error, 'invalid first frame')
}

/**
 * Handles the first message of a connection: registers it, or refuses it (ERROR, then close 4002). Synchronous on
 * the common path (no cluster, no takeover of a registered id, no client away under that id): a promise only when
 * something must be waited for, so that a plain registration makes no promise and takes no extra turn.
 */
export function register (core: ServerCore, connection: ClientConnection, message: DecodedClientMessage): void | Promise<void> {
  // The shape (a REGISTER with a client_id) is the endpoint's registration flow; the words and the policy are ours.
  const check = validateRegistration(message)
  if (!check.ok) {
    if (check.refusal === 'not_register') refuse(core, connection, Texts.firstMessageNotRegister, 'first frame not REGISTER', { type: message.type })
    else refuse(core, connection, Texts.registerNeedsClientId, 'no client_id')
    return
  }
  const claim = check.claim
  if (claim.clientId.length > MAX_ID_CHARS || (message.target_id?.length ?? 0) > MAX_ID_CHARS) {
    refuse(core, connection, Texts.idTooLong(claim.clientId.length > MAX_ID_CHARS ? 'client_id' : 'target_id'), 'id too long')
    return
  }
  // A promise only when the target must be looked up on the cluster.
  const refusal = credentialRefusal(core, connection.credential, claim)
  if (refusal instanceof Promise) return refusal.then((found) => connection.closed ? undefined : claimId(core, connection, claim, found))
  return claimId(core, connection, claim, refusal)
}

/** Registers the id of `claim` once its credential was checked (`refusal`: why it may not), taking it over if held. */
function claimId (core: ServerCore, connection: ClientConnection, claim: RegistrationClaim, refusal: Refusal | null): void | Promise<void> {
  if (refusal !== null) {
    refuse(core, connection, ...refusal)
    return
  }
  const existing = core.clients.get(claim.clientId)
  if (existing !== undefined) return takeOver(core, connection, claim, existing)
  return claimFree(core, connection, claim)
}

/**
 * `claim`'s id is held by a registered connection. Only the same credential may take it over: a per-client key's
 * owner, or, when the id has no key, any connection once the old socket is proven dead (no pong, no frame within
 * takeoverProbeMs). A device whose old socket is dead takes over at once instead of being locked out until it
 * times out.
 */
async function takeOver (core: ServerCore, connection: ClientConnection, claim: RegistrationClaim, existing: ClientConnection): Promise<void> {
  const { clientId } = claim
  if (!sameCredential(existing.credential, connection.credential)) {
    refuse(core, connection, Texts.duplicateClient(clientId), 'duplicate client_id (other credential)', { clientId })
    return
  }
  const alive = await existing.probe(core.options.takeoverProbeMs)
  if (alive || connection.closed || core.clients.get(clientId) !== existing) {
    refuse(core, connection, Texts.duplicateClient(clientId), 'duplicate client_id', { clientId })
    return
  }
  core.logger.warn({ clientId }, 'old connection did not answer a ping: replaced by the new one')
  existing.close(CloseCode.Replaced, Texts.replaced)
  existing.transport.terminate()
  await unregister(core, existing, CloseCode.Replaced, Texts.replaced)
  await claimFree(core, connection, claim)
}

/** Registers `claim`'s id, held by no registered connection: resumes a client away under it, or ends its sessions. */
function claimFree (core: ServerCore, connection: ClientConnection, claim: RegistrationClaim): void | Promise<void> {
  const { clientId, clientType, targetId, metadata } = claim
  const away = core.away.get(clientId)
  if (away !== undefined && !sameCredential(away.credential, connection.credential)) {
    refuse(core, connection, Texts.duplicateClient(clientId), 'duplicate client_id (other credential)', { clientId })
    return
  }
  // Capabilities asked for and enabled: `resume` only with a resume window, `presence` as its scope allows.
  const asked = requestedCapabilities(metadata)
  const capabilities = asked.length === 0
    ? asked
    : asked.filter((capability) => (capability !== 'resume' || core.options.resumeWindowMs > 0) &&
      (capability !== 'presence' || mayGrantPresence(core.options.presence, clientType, targetId)))
  if (away === undefined) return admit(core, connection, claim, asked, capabilities, null)
  if (away.identity.clientType === clientType && away.identity.targetId === targetId && capabilities.includes('resume')) {
    takeBack(core, clientId)
    return admit(core, connection, claim, asked, capabilities, away)
  }
  // Another role or scope, or a client that does not resume: the held sessions end as at the window's expiry.
  return endAway(core, clientId).then(() => admit(core, connection, claim, asked, capabilities, null))
}

/**
 * Admits `claim` (in a cluster, once its id's lease is claimed) and confirms it. `resumedFrom`: the away client it
 * resumes, if any.
 */
function admit (
  core: ServerCore, connection: ClientConnection, claim: RegistrationClaim, asked: readonly AipCapability[], capabilities: readonly AipCapability[], resumedFrom: AwayClient | null
): void | Promise<void> {
  const { clientId, clientType, targetId, metadata } = claim
  if (connection.closed) return
  if (core.clients.has(clientId)) {
    refuse(core, connection, Texts.duplicateClient(clientId), 'duplicate client_id', { clientId })
    return
  }
  const record: ClientRecord = {
    clientId,
    clientType,
    targetId,
    platform: clientType === 'device' && typeof metadata?.platform === 'string' ? metadata.platform : null,
    systemInfo: clientType === 'device' && isObject(metadata?.system_info) ? metadata.system_info : null,
    metadata,
    registeredAt: core.options.now()
  }
  // In a cluster the id is unique across nodes: its lease is claimed (a resumed client still holds it).
  if (core.cluster === null || resumedFrom !== null) {
    confirm(core, connection, claim, record, asked, capabilities, resumedFrom)
    return
  }
  return core.cluster.admitRegistration(connection, claim, record).then((admitted) => {
    if (connection.closed) return
    if (!admitted || core.clients.has(clientId)) {
      refuse(core, connection, Texts.duplicateClient(clientId), 'duplicate client_id', { clientId })
      return
    }
    confirm(core, connection, claim, record, asked, capabilities, null)
  })
}

/** Pins the identity of an admitted connection, records it, and answers its REGISTER. */
function confirm (
  core: ServerCore, connection: ClientConnection, claim: RegistrationClaim, record: ClientRecord, asked: readonly AipCapability[],
  capabilities: readonly AipCapability[], resumedFrom: AwayClient | null
): void {
  const { clientId, clientType, targetId } = claim
  // +1 on every registration of the id while it is registered or away: a resumed client was taken back from away above.
  const epoch = (resumedFrom !== null ? resumedFrom.identity.epoch : core.epochOf(clientId)) + 1
  // Only a REGISTER that asked gets a grant: a reference peer sees the reference answer, byte for byte.
  const grant: ContinuityGrant | null = asked.length === 0
    ? null
    : { capabilities, epoch, resumeWindowMs: capabilities.includes('resume') ? core.options.resumeWindowMs : 0, resumed: resumedFrom !== null }
  const identity: Identity = { clientId, clientType, targetId, epoch, grant }
  connection.identity = identity
  core.registrationDeadlines.release(connection.deadlineTicket)
  core.clients.set(clientId, connection)
  core.options.registry.add(record)
  const confirmation = buildRegistrationConfirmation()
  if (grant === null) connection.sendEncoded(confirmation, heartbeatText(confirmation))
  else connection.send(confirmation, { [GRANT_FIELD]: grantField(grant) })
  core.cluster?.registered(identity)
  if (resumedFrom !== null) {
    // After the HEARTBEAT ok: the COMMANDs the device may have missed, in order, marked as re-sent.
    const resentCommands = clientType === 'device' ? resendCommands(core, clientId) : 0
    if (clientType === 'device') {
      resendEnds(core, connection, resumedFrom.missedEnds)
      resendDispatches(core, clientId, connection)
    }
    const awayMs = core.options.now() - resumedFrom.since
    core.logger.info({ clientId, clientType, targetId, epoch, awayMs, resentCommands }, 'client resumed')
    core.events.emit('clientResumed', { clientId, clientType, epoch, awayMs, resentCommands })
    return
  }
  if (core.logs('info')) core.logger.info({ clientId, clientType, targetId, epoch }, 'client registered')
  core.events.emit('clientRegistered', record)
}

/**
 * The registration deadline of `connection` has come (one timer serves every connection's, see `accept`): one that
 * has neither registered nor closed gets an ERROR and 4001.
 */
export function expireRegistration (core: ServerCore, connection: ClientConnection): void {
  if (connection.identity !== null || connection.closed) return
  const timeoutMs = core.options.registrationTimeoutMs
  core.logger.info({ connectionId: connection.connectionId }, 'no REGISTER in time')
  connection.sendAndClose(serverError({ error: Texts.registrationTimeout(timeoutMs) }), CloseCode.RegistrationTimeout, 'registration timeout')
}

/** Sends a resumed device the TASK_ENDs of its sessions that ended while it was away (those still kept). */
function resendEnds (core: ServerCore, connection: ClientConnection, sessionIds: readonly string[]): void {
  for (const sessionId of sessionIds) {
    const record = core.options.results.getBySession(sessionId)
    if (record !== undefined) connection.send(buildTaskEnd({ sessionId, status: record.status, result: record.result, error: record.error }))
  }
}
