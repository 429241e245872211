// The cluster state interfaces. The Redis classes of this package implement them; the device-server's own state
// interfaces (registry, sessions, results, delivery) are to be implemented on top of them when the server is
// wired to a cluster store.
import type { LeaseLossReason } from './errors.js'
import type { RedisHealth } from './connection.js'

/** What proves a holder's right to a client id: the epoch it was given and the token only it knows. */
export interface LeaseFence {
  readonly clientId: string
  /** Incremented atomically on every registration of the client id; never reused while Redis keeps the id's counter. */
  readonly epoch: number
  /** A random value drawn at registration and known only to the holder. */
  readonly token: string
}

/** A lease held by this node: renew it before `leaseMs` runs out, release it when the client goes away. */
export interface Lease extends LeaseFence {
  readonly nodeId: string
  /** The lease's length, in milliseconds; each renewal extends it by this from Redis's clock. */
  readonly leaseMs: number
}

/** A lease as anyone in the cluster sees it (without its token). */
export interface LeaseRecord {
  readonly clientId: string
  /** The node that holds the client's connection. */
  readonly nodeId: string
  readonly epoch: number
  /** When the lease was acquired and last renewed, in milliseconds since the epoch (Redis's clock). */
  readonly acquiredAt: number
  readonly renewedAt: number
  /** Time left before the lease expires, in milliseconds. */
  readonly expiresInMs: number
  /** What the holder stored with it (the client's registration, for example), or `null`. */
  readonly data: unknown
}

/** How to register: fail when the id is held (`if-absent`), or take it over and fence the holder (`takeover`). */
export type RegisterMode = 'if-absent' | 'takeover'

/** Options of {@link LeaseRegistry.register}. */
export interface RegisterOptions {
  /** The node that will hold the client's connection. */
  nodeId: string
  /** Default `if-absent`. */
  mode?: RegisterMode
  /** The lease's length; default the registry's `leaseMs`. */
  leaseMs?: number
  /** Stored with the lease as JSON and returned in {@link LeaseRecord.data}. */
  data?: unknown
  /**
   * The client's delivery stream: a registration that acquires the lease also answers how many entries wait in it
   * (`waiting`), in the same atomic step, so that the new holder knows whether it has anything to read.
   */
  inbox?: StreamAddress
}

/** The answer to a registration. */
export type RegisterOutcome =
  | {
    readonly acquired: true
    readonly lease: Lease
    /** The holder that was fenced by a takeover, or `null` when the id was free. */
    readonly replaced: { readonly nodeId: string, readonly epoch: number } | null
    /** Entries waiting in `inbox` when the lease was acquired (only with the `inbox` option). */
    readonly waiting?: number
  }
  | {
    readonly acquired: false
    /** Who holds the id (`if-absent` only). */
    readonly holder: LeaseRecord
  }

/** The answer to a renewal or a fence check. */
export type LeaseCheck =
  | { readonly held: true }
  | { readonly held: false, readonly reason: LeaseLossReason }

/**
 * Which client id is connected to which node, cluster-wide. Registration and every check are atomic in Redis.
 */
export interface LeaseRegistry {
  /** Registers a client id on a node; with `takeover`, fences the current holder. */
  register: (clientId: string, options: RegisterOptions) => Promise<RegisterOutcome>
  /** Extends the lease, only if this epoch still holds it. */
  renew: (lease: Lease) => Promise<LeaseCheck>
  /** Extends many leases at once (one answer per lease, in order). */
  renewMany: (leases: readonly Lease[]) => Promise<LeaseCheck[]>
  /** Removes the lease, only if this epoch still holds it. Resolves with whether it did. */
  release: (lease: Lease) => Promise<boolean>
  /** The current holder of a client id, or `null`. */
  get: (clientId: string) => Promise<LeaseRecord | null>
  /** The leases a node holds. */
  listByNode: (nodeId: string) => Promise<LeaseRecord[]>
  /** Every lease of the cluster. */
  list: () => Promise<LeaseRecord[]>
}

/** The address of a delivery stream: one per device (client id), one per node. */
export interface StreamAddress {
  readonly kind: 'device' | 'node'
  readonly id: string
}

/** One entry of a delivery stream. */
export interface DeliveryEntry {
  /** The stream id Redis gave it (`<ms>-<seq>`): increasing within a stream. */
  readonly id: string
  readonly payload: string
}

/** Options of {@link RedisDeliveryLog.appendToHolder}. */
export interface HolderAppendOptions {
  /** Do not append when this node holds the client id (the caller delivers locally). */
  except?: string
  /**
   * Append only when the lease's data, as stored (JSON), starts with this text (for example the client's id and
   * type, to send a TASK to devices only). Default: any data.
   */
  dataPrefix?: string
}

/**
 * The answer to {@link RedisDeliveryLog.appendToHolder}: appended (the entry's id and the node woken), or not, with
 * the holder found (`null` when no live lease names the client id).
 */
export type HolderAppendOutcome =
  | { readonly appended: true, readonly id: string, readonly nodeId: string }
  | { readonly appended: false, readonly holder: LeaseRecord | null }

/** Options of {@link DeliveryLog.append}. */
export interface AppendOptions {
  /** Ring this node's doorbell after the append (the node that reads the stream, from the lease registry). */
  wake?: string
  /** Append only if this lease still holds (a fenced holder can no longer write). */
  fence?: LeaseFence
}

/**
 * Durable, bounded, ordered delivery to a device or a node. An entry stays in the stream until its reader
 * acknowledges it, so a new reader (after a takeover) gets whatever the old one did not acknowledge.
 */
export interface DeliveryLog {
  /** Appends a payload; resolves with its entry id. */
  append: (to: StreamAddress, payload: string, options?: AppendOptions) => Promise<string>
  /** Reads up to `count` entries after `afterId` (`0-0` for the oldest). */
  read: (from: StreamAddress, afterId: string, count?: number) => Promise<DeliveryEntry[]>
  /** Removes every entry up to and including `id`; resolves with how many went. */
  ack: (from: StreamAddress, id: string, options?: { fence?: LeaseFence }) => Promise<number>
  /** Entries waiting in the stream. */
  length: (of: StreamAddress) => Promise<number>
}

/** Options of {@link RecordStore.put}. */
export interface PutOptions {
  /** Time to live, in milliseconds; default the store's `ttlMs`. */
  ttlMs?: number
  /** Write only if this lease still holds. */
  fence?: LeaseFence
}

/** JSON records with a TTL (sessions, tasks), readable from every node. */
export interface RecordStore<T> {
  put: (id: string, value: T, options?: PutOptions) => Promise<void>
  get: (id: string) => Promise<T | undefined>
  /** Resolves with whether a record was deleted. */
  delete: (id: string, options?: { fence?: LeaseFence }) => Promise<boolean>
  /** Gives a record a new TTL; resolves with whether it exists. */
  touch: (id: string, ttlMs?: number) => Promise<boolean>
}

/** The fields a task result needs to be found by session and by task name. */
export interface ResultKeys {
  readonly sessionId: string
  readonly taskName: string
}

/** Finished tasks' results, kept for a bounded time, readable from every node. */
export interface ClusterResultStore<T extends ResultKeys> {
  put: (record: T) => Promise<void>
  getBySession: (sessionId: string) => Promise<T | undefined>
  /** The latest result stored under that task name. */
  getByTaskName: (taskName: string) => Promise<T | undefined>
}

/** A health probe of the cluster store. */
export interface ClusterHealth {
  /** The state without a round trip. */
  health: () => RedisHealth
  /** A round trip; resolves with its time in milliseconds. */
  probe: () => Promise<number>
}
