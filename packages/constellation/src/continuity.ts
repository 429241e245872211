import { extraFieldsOf } from '@aip/endpoint'
import {
  CAPABILITIES_KEY, CONTINUITY_CAPABILITIES, PRESENCE_CAPABILITY, TIMEOUT_KEY, readGrant, type AipCapability, type ContinuityCapability,
  type ContinuityGrant, type DecodedServerMessage
} from '@aip/protocol'

/*
 * The constellation's side of the task-continuity negotiation (PROTOCOL.md, "Continuity extension"): what its
 * REGISTER asks for, what it reads from the registration answer, and the deadline a TASK carries. Every behaviour
 * of the extension is gated on the grant: a server that grants nothing keeps the reference behaviour.
 */

/**
 * The REGISTER `metadata` addition asking for every continuity capability (`continuity`) and for `presence`, or
 * nothing when both are off (the REGISTER is then the reference's, byte for byte).
 */
export function continuityRequest (continuity: boolean, presence = false): { metadata: Record<string, unknown> } | Record<string, never> {
  const capabilities: AipCapability[] = continuity ? [...CONTINUITY_CAPABILITIES] : []
  if (presence) capabilities.push(PRESENCE_CAPABILITY)
  return capabilities.length > 0 ? { metadata: { [CAPABILITIES_KEY]: capabilities } } : {}
}

/**
 * The grant of a registration answer (its `aip` extension field), frozen, or `null` when the constellation did not
 * ask (`continuity` and `presence` off: a grant it did not ask for is ignored) or the server granted nothing.
 */
export function grantOf (answer: DecodedServerMessage, asked: boolean): ContinuityGrant | null {
  if (!asked) return null
  const grant = readGrant(extraFieldsOf(answer))
  if (grant === null) return null
  return Object.freeze({ ...grant, capabilities: Object.freeze([...grant.capabilities]) })
}

/** Whether `grant` includes `capability` (`resume` only with a window longer than 0). */
export function granted (grant: ContinuityGrant | null | undefined, capability: ContinuityCapability): boolean {
  if (grant === null || grant === undefined || !grant.capabilities.includes(capability)) return false
  return capability !== 'resume' || grant.resumeWindowMs > 0
}

/** A TASK's `metadata` with its deadline: `aip_timeout_ms` = the whole milliseconds left (at least 1). */
export function withTimeLeft (metadata: Record<string, unknown> | null, msLeft: number): Record<string, unknown> {
  return { ...metadata, [TIMEOUT_KEY]: Math.max(1, Math.ceil(msLeft)) }
}
