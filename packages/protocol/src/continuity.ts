import type { ClientType } from './enums.js'
import { newId } from './ids.js'
import type { DecodedClientMessage } from './messages.js'
import { timestamp as now } from './timestamp.js'

/*
 * The task-continuity extension (PROTOCOL.md, "Continuity"). Everything here is negotiated: a client asks in its
 * REGISTER `metadata`, a server that knows the extension answers in its registration HEARTBEAT, and only then does
 * either side send an extension field or frame. A peer that does not ask (the Python reference) sees reference
 * frames only.
 */

/** Every capability of the extension. */
export const CONTINUITY_CAPABILITIES = ['resume', 'cancel', 'deadline'] as const

/**
 * A capability: `resume` (the server holds the client's sessions for a window after its connection drops),
 * `cancel` (the requester may send `task_cancel`), `deadline` (a TASK's `metadata.aip_timeout_ms` is enforced,
 * and a device is told each COMMAND's remaining time).
 */
export type ContinuityCapability = typeof CONTINUITY_CAPABILITIES[number]

/**
 * Every capability a REGISTER may ask for and a grant may list: those of continuity, and `presence` (the presence
 * extension, `presence.ts`: a constellation gets `device_presence` frames).
 */
export const AIP_CAPABILITIES = [...CONTINUITY_CAPABILITIES, 'presence'] as const

/** A capability of one of our negotiated extensions: see {@link AIP_CAPABILITIES}. */
export type AipCapability = typeof AIP_CAPABILITIES[number]

/** Key of REGISTER `metadata` holding the capabilities a client asks for: an array of capability names. */
export const CAPABILITIES_KEY = 'aip_capabilities'

/** Top-level extension field of the registration HEARTBEAT answering a client that asked: a {@link ContinuityGrant}. */
export const GRANT_FIELD = 'aip'

/**
 * Key of a TASK's `metadata` (a constellation's deadline for the whole task, milliseconds left when it was sent)
 * and extension field of a COMMAND (milliseconds the device has for it) under `deadline`.
 */
export const TIMEOUT_KEY = 'aip_timeout_ms'

/** Extension field of a COMMAND the server sends again after a client resumed: `true`. */
export const RESENT_FIELD = 'aip_resent'

/** Extension client message type: the requester of a running task asks the server to cancel it (`cancel`). */
export const TASK_CANCEL = 'task_cancel'

/** What the server granted, in the registration HEARTBEAT's `aip` field (wire names in snake case). */
export interface ContinuityGrant {
  /** The granted capabilities: those asked for that the server supports and has enabled (`presence` included). */
  readonly capabilities: readonly AipCapability[]
  /** This registration's epoch for the client id: it grows with every registration of that id. */
  readonly epoch: number
  /** How long the server holds the client's sessions after its connection drops (0 when `resume` is not granted). */
  readonly resumeWindowMs: number
  /** The server held sessions of this client id from a connection that dropped, and this registration took them over. */
  readonly resumed: boolean
}

/** The registration HEARTBEAT's `aip` field of a grant (what the server writes). */
export function grantField (grant: ContinuityGrant): Record<string, unknown> {
  return {
    capabilities: [...grant.capabilities],
    epoch: grant.epoch,
    resume_window_ms: grant.resumeWindowMs,
    resumed: grant.resumed
  }
}

/**
 * Reads the grant from the extension fields of a registration HEARTBEAT (`extraFieldsOf(message)` of
 * `@aip/endpoint`), or `null` when the server granted nothing (a reference server, or a malformed field). Unknown
 * capability names are ignored.
 */
export function readGrant (extra: Readonly<Record<string, unknown>> | null | undefined): ContinuityGrant | null {
  const field = extra?.[GRANT_FIELD]
  if (typeof field !== 'object' || field === null || Array.isArray(field)) return null
  const { capabilities, epoch, resume_window_ms: resumeWindowMs, resumed } = field as Record<string, unknown>
  if (!Array.isArray(capabilities)) return null
  if (typeof epoch !== 'number' || !Number.isSafeInteger(epoch) || epoch < 0) return null
  const window = typeof resumeWindowMs === 'number' && Number.isFinite(resumeWindowMs) && resumeWindowMs > 0 ? Math.floor(resumeWindowMs) : 0
  return {
    capabilities: readCapabilities(capabilities),
    epoch,
    resumeWindowMs: window,
    resumed: resumed === true
  }
}

/**
 * The longest wait a client should allow itself before each reconnection attempt while the server holds its
 * sessions: a quarter of the granted resume window, so that several attempts fit in it. `undefined` without a
 * `resume` grant (no cap: the client's own backoff applies).
 */
export function resumeDelayCap (grant: ContinuityGrant | null | undefined): number | undefined {
  if (grant == null || grant.resumeWindowMs <= 0 || !grant.capabilities.includes('resume')) return undefined
  return Math.max(1, Math.floor(grant.resumeWindowMs / 4))
}

/** The capabilities a REGISTER asks for (its `metadata.aip_capabilities`), known names only, without repeats. */
export function requestedCapabilities (metadata: Readonly<Record<string, unknown>> | null | undefined): AipCapability[] {
  const list = metadata?.[CAPABILITIES_KEY]
  return Array.isArray(list) ? readCapabilities(list) : []
}

function readCapabilities (list: readonly unknown[]): AipCapability[] {
  const out: AipCapability[] = []
  for (const name of list) {
    if ((AIP_CAPABILITIES as readonly unknown[]).includes(name) && !out.includes(name as AipCapability)) {
      out.push(name as AipCapability)
    }
  }
  return out
}

/**
 * A TASK's deadline in milliseconds (its `metadata.aip_timeout_ms`): a positive integer, or `null` when absent or
 * not one.
 */
export function taskTimeoutMs (metadata: Readonly<Record<string, unknown>> | null | undefined): number | null {
  const value = metadata?.[TIMEOUT_KEY]
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : null
}

/** Input of {@link buildTaskCancel}. */
export interface TaskCancelInput {
  /** Id the requester registered with. */
  clientId: string
  clientType: ClientType
  /** The session of the task to cancel. */
  sessionId: string
  /** The device the task runs on (a constellation's target). */
  targetId?: string | null | undefined
  /** Why, for the server's logs and the TASK_END's error text (at most 256 characters are kept). */
  reason?: string | undefined
  timestamp?: string | undefined
}

/**
 * `task_cancel` from the requester of a running task (only to a server that granted `cancel`). The server cancels
 * the session: its agent's signal aborts, the device is sent the TASK_END (so it aborts the running tool), and the
 * requester gets the TASK_END `failed` that ends the task. No ack: the TASK_END is the answer.
 */
export function buildTaskCancel (input: TaskCancelInput): DecodedClientMessage {
  return {
    type: TASK_CANCEL,
    status: 'ok',
    client_type: input.clientType,
    session_id: input.sessionId,
    task_name: null,
    client_id: input.clientId,
    target_id: input.targetId ?? null,
    request: null,
    action_results: null,
    timestamp: input.timestamp ?? now(),
    request_id: newId(),
    prev_response_id: null,
    error: input.reason ?? null,
    metadata: null
  }
}
