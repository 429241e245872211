import { InvalidArgumentError, InvalidOptionError } from './errors.js'

/** Longest client id, node id, session id or task name accepted, in characters. */
export const MAX_ID_LENGTH = 512

/**
 * Checks an id given to a method: a non-empty string of at most {@link MAX_ID_LENGTH} characters.
 * Throws {@link InvalidArgumentError} otherwise.
 */
export function checkId (name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_ID_LENGTH) {
    throw new InvalidArgumentError(name, `a string of 1 to ${MAX_ID_LENGTH} characters`, describe(value))
  }
  return value
}

/** Checks a duration given to a method: an integer of milliseconds, at least `min`. */
export function checkMs (name: string, value: unknown, min = 1): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new InvalidArgumentError(name, `an integer of milliseconds >= ${min}`, describe(value))
  }
  return value
}

/** Checks a duration option: an integer of milliseconds, at least `min`. */
export function optionMs (name: string, value: unknown, fallback: number, min = 1): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new InvalidOptionError(name, `an integer of milliseconds >= ${min}`, describe(value))
  }
  return value
}

/** Checks a count option: an integer, at least `min`. */
export function optionCount (name: string, value: unknown, fallback: number, min = 1): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new InvalidOptionError(name, `an integer >= ${min}`, describe(value))
  }
  return value
}

/** A short description of a value for an error message. */
export function describe (value: unknown): string {
  if (typeof value === 'string') return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value)
  if (value === null) return 'null'
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object'
  return String(value)
}

/**
 * Key names. Every id is URI-encoded (so no id can forge another key, and `{`, `}` and `:` never appear
 * in it), and each per-client key carries the encoded id as a hash tag, so a client's keys share one Redis
 * Cluster slot.
 */
export class Keys {
  /** The key prefix, for example `aip:` (ends with `:`). */
  readonly prefix: string

  constructor (prefix: string) {
    this.prefix = prefix
  }

  /** The lease hash of a client id. */
  lease (clientId: string): string {
    return `${this.prefix}lease:{${encodeURIComponent(clientId)}}`
  }

  /** The epoch counter of a client id. */
  epoch (clientId: string): string {
    return `${this.prefix}epoch:{${encodeURIComponent(clientId)}}`
  }

  /** The sorted set of the client ids leased by a node (score: lease expiry, ms since the epoch). */
  nodeLeases (nodeId: string): string {
    return `${this.prefix}node-leases:{${encodeURIComponent(nodeId)}}`
  }

  /** The sorted set of every leased client id (score: lease expiry). */
  allLeases (): string {
    return `${this.prefix}leases`
  }

  /** A delivery stream. */
  stream (kind: StreamKind, id: string): string {
    return `${this.prefix}stream:${kind}:{${encodeURIComponent(id)}}`
  }

  /** The doorbell channel of a node. */
  doorbell (nodeId: string): string {
    return `${this.prefix}doorbell:{${encodeURIComponent(nodeId)}}`
  }

  /** A record of a namespace. */
  record (namespace: string, id: string): string {
    return `${this.prefix}${namespace}:{${encodeURIComponent(id)}}`
  }
}

/** What a delivery stream is addressed to: one device (client id), or one node. */
export type StreamKind = 'device' | 'node'

/** Checks and normalises a key prefix option: non-empty, no spaces, ends with `:`. */
export function parsePrefix (value: unknown): string {
  if (value === undefined) return 'aip:'
  if (typeof value !== 'string' || value.length === 0 || value.length > 128 || /[\s{}]/.test(value)) {
    throw new InvalidOptionError('keyPrefix', 'a string of 1 to 128 characters without spaces or braces', describe(value))
  }
  return value.endsWith(':') ? value : `${value}:`
}
