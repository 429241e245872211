import { randomUUID } from 'node:crypto'
import {
  ClusterUnavailableError, type ClaimMode, type ClaimOutcome, type ClusterClient, type ClusterClientRecord, type ClusterHandlers, type ClusterProblem,
  type ClusterFrameMessage, type ClusterLink, type ClusterMessage, type ClusterState, type HolderSendOutcome, type NodeMessage, type TaskRecord
} from '@aip/device-server'
import { RedisConnection, type RedisConnectionState } from '../connection.js'
import { ClosedError, ClusterFormatError, RedisUnavailableError } from '../errors.js'
import { LeaseKeeperSweep } from './sweep.js'
import { RedisLeaseRegistry } from '../leases.js'
import { silentLogger, type Logger } from '../logger.js'
import { RedisResultStore } from '../records.js'
import { RedisStreamReader } from '../stream-reader.js'
import { RedisDeliveryLog, streamName } from '../streams.js'
import type { Lease, LeaseRecord, StreamAddress } from '../types.js'
import { resolveClusterOptions, type RedisClusterOptions, type ResolvedRedisClusterOptions } from './options.js'
import { CLUSTER_FORMAT, LEASE_DATA, LIVE_NODES, NODE_LEASE, NODE_RELEASE } from './scripts.js'

/** The mailbox of a client id (a delivery stream per client). */
function clientBox (clientId: string): StreamAddress {
  return { kind: 'device', id: clientId }
}

/** Maps Redis being away (or the connection closed) to the device server's `ClusterUnavailableError`. */
function unavailable (operation: string, err: unknown): unknown {
  return err instanceof RedisUnavailableError || err instanceof ClosedError ? new ClusterUnavailableError(operation, err) : err
}

/** `send()` settled: nothing to say. */
function sent (): void {}

/** `send()` failed: Redis being away is the cluster being unavailable. */
function sendFailed (err: unknown): never {
  throw unavailable('send', err)
}

const STATES: Record<RedisConnectionState, ClusterState> = {
  connecting: 'connecting',
  ready: 'ready',
  reconnecting: 'reconnecting',
  down: 'down',
  closed: 'stopped'
}

/**
 * The cluster store of `@aip/device-server` on Redis: pass it as the `cluster` option of `DeviceServerEndpoint` on
 * every node (each with its own `nodeId`, all with the same Redis and key prefix).
 *
 * - **Node lease** `<p>node:{<nodeId>}`: a key with a TTL of `nodeLeaseMs`, renewed every third of it; a node whose
 *   key is gone is lost. The node's cluster format ({@link CLUSTER_FORMAT}) is written beside it: a node does not join
 *   while a live node of another format is there (its link is `down`, {@link RedisCluster.refusal} says why, and
 *   claims wait for the node lease to be written).
 * - **Client leases** (`RedisLeaseRegistry`): one per registered client id, its data the client's record (role,
 *   scope, platform, latest telemetry), renewed in one sweep per node with the node lease. A lease found expired (a
 *   Redis restart, a long pause) is claimed again if the id is free; a lease another node took is reported lost.
 * - **Mailboxes** (`RedisDeliveryLog` / `RedisStreamReader`): a stream per client id and one per node, read by the
 *   node holding the client (woken by its doorbell, polled every `pollIntervalMs`), an entry acknowledged once the
 *   server handled it, under the client's lease.
 * - **Results** (`RedisResultStore`): every finished task's record, for `resultTtlMs`.
 *
 * @example
 * ```ts
 * const cluster = new RedisCluster({ url: 'redis://10.0.0.5:6379', nodeId: 'node-a' })
 * const server = new DeviceServerEndpoint({ cluster })
 * ```
 */
export class RedisCluster implements ClusterLink {
  readonly nodeId: string
  /** The checked options. */
  readonly options: ResolvedRedisClusterOptions
  /** The Redis connection (the cluster's own, or the one given). */
  readonly redis: RedisConnection
  readonly #ownsConnection: boolean
  readonly #log: Logger
  readonly #leases: RedisLeaseRegistry
  readonly #mailboxes: RedisDeliveryLog
  readonly #results: RedisResultStore<TaskRecord>
  readonly #token = randomUUID()
  readonly #follows = new Map<string, () => void>()
  /**
   * Client ids whose mailbox was empty when this node claimed them, with the doorbells the reader had heard by
   * then: followed without a first read when no doorbell rang since. Removed on follow or release.
   */
  readonly #emptyAtClaim = new Map<string, number>()
  /**
   * The last handled entry of each mailbox, not acknowledged yet, by stream name: acknowledged together within
   * `ackDelayMs` (one acknowledgement per mailbox, one script call for all).
   */
  readonly #acks = new Map<string, PendingAck>()
  #ackTimer: NodeJS.Timeout | null = null
  /** Acknowledgements sent and not answered yet, by stream name (a lease is released only after its mailbox's). */
  readonly #acking = new Map<string, { readonly entryId: string, readonly done: Promise<void> }>()
  #reader: RedisStreamReader | null = null
  #handlers: ClusterHandlers | null = null
  #sweep: LeaseKeeperSweep | null = null
  #offState: (() => void) | null = null
  #stopped = false
  /** Set while a live node of another cluster format keeps this node out. */
  #refusal: ClusterFormatError | null = null
  /** The node lease was written since the connection was last ready: the node takes part in the cluster. */
  #member = false
  /** Claims waiting for the node lease write under way. */
  #joinWaiters: Array<() => void> = []
  /** The last state told to the handlers. */
  #announced: ClusterState | null = null
  /** Nodes of another format found to have joined after this one, reported once each. */
  readonly #mixedReported = new Set<string>()

  /**
   * Opens the connection (unless one is given); the node joins the cluster on {@link start}.
   * @throws InvalidOptionError (`AIP_ERR_REDIS_INVALID_OPTION`) on a bad option
   */
  constructor (options: RedisClusterOptions = {}) {
    this.options = resolveClusterOptions(options)
    this.nodeId = options.nodeId ?? `node-${randomUUID().slice(0, 12)}`
    this.#log = options.logger ?? silentLogger
    this.#ownsConnection = options.connection === undefined
    this.redis = options.connection ?? new RedisConnection({ ...options.redis, url: options.url, keyPrefix: options.keyPrefix, logger: this.#log })
    this.#leases = new RedisLeaseRegistry(this.redis, { leaseMs: this.options.clientLeaseMs })
    this.#mailboxes = new RedisDeliveryLog(this.redis, { maxStreamLength: this.options.maxMailboxLength, streamTtlMs: this.options.mailboxTtlMs, maxDoorbellBytes: this.options.maxDoorbellBytes })
    this.#results = new RedisResultStore<TaskRecord>(this.redis, { ttlMs: this.options.resultTtlMs, deliveryLog: this.#mailboxes })
  }

  get nodeLeaseMs (): number {
    return this.options.nodeLeaseMs
  }

  /** The connection's state, except `down` while a node of another cluster format keeps this node out. */
  get state (): ClusterState {
    if (this.#stopped) return 'stopped'
    const state = STATES[this.redis.health().state]
    return state === 'ready' && this.#refusal !== null ? 'down' : state
  }

  /**
   * Why this node is not part of its cluster, or `null`: a live node under the same key prefix runs another cluster
   * format ({@link CLUSTER_FORMAT}). The node serves its own connections and refuses cross-node work meanwhile, and
   * joins on its own once no such node is left.
   */
  get refusal (): ClusterFormatError | null {
    return this.#refusal
  }

  /**
   * Why the link is not `ready`, for a health endpoint: what keeps this node out ({@link refusal}), or the Redis
   * connection's last error while it is not ready; otherwise `null`.
   */
  get problem (): ClusterProblem | null {
    if (this.#stopped) return null
    if (this.#refusal !== null) return { code: this.#refusal.code, message: this.#refusal.message }
    const health = this.redis.health()
    if (health.state === 'ready' || health.lastError === null) return null
    return { code: health.lastError.code, message: health.lastError.message }
  }

  /** The Redis connection's health (state, since, failed attempts, last error), for a health endpoint. */
  health (): ReturnType<RedisConnection['health']> {
    return this.redis.health()
  }

  async start (handlers: ClusterHandlers): Promise<void> {
    if (this.#handlers !== null) return
    this.#handlers = handlers
    this.#reader = new RedisStreamReader(this.redis, {
      nodeId: this.nodeId,
      pollIntervalMs: this.options.pollIntervalMs,
      logger: this.#log,
      onNotice: (notice) => { this.#notice(notice, handlers) }
    })
    const nodeBox: StreamAddress = { kind: 'node', id: this.nodeId }
    const nodeBoxName = streamName(nodeBox)
    this.#reader.follow(nodeBox, (entry, address) => {
      let message: NodeMessage | undefined
      try {
        message = JSON.parse(entry.payload) as NodeMessage
      } catch (err) {
        this.#log.warn({ err, entryId: entry.id }, 'cluster: unreadable node message dropped')
      }
      this.#ack(nodeBoxName, address, entry.id, null)
      if (message !== undefined) handlers.nodeMessage(message)
    })
    this.#sweep = new LeaseKeeperSweep({
      everyMs: Math.max(10, Math.floor(this.options.nodeLeaseMs / 3)),
      renewNode: async () => await this.#renewNode(),
      registry: this.#leases,
      logger: this.#log,
      onLost: (clientId, reason) => {
        this.#unfollowBox(clientId)
        handlers.clientLost(clientId, reason)
      }
    })
    this.#offState = this.redis.onStateChange((health) => {
      if (health.state === 'ready') this.#sweep?.now(true)
      else this.#member = false
      this.#announce()
    })
    this.#sweep.now()
    this.#announce()
  }

  async stop (): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    if (this.#ackTimer !== null) clearTimeout(this.#ackTimer)
    this.#ackTimer = null
    this.#flushAcks()
    this.#emptyAtClaim.clear()
    this.#offState?.()
    for (const resolve of this.#joinWaiters.splice(0)) resolve()
    const held = this.#sweep?.stop() ?? []
    if (this.redis.health().state === 'ready') {
      await Promise.all(held.map(async (lease) => await this.#leases.release(lease).catch(() => false)))
      await this.redis.run('cluster.leave', (client) => NODE_RELEASE.run(client, [this.#nodeKey(this.nodeId), this.#nodesKey(), this.#formatsKey()], [this.#token, this.nodeId])).catch(() => {})
    }
    await this.#reader?.close()
    if (this.#ownsConnection) await this.redis.close()
  }

  async claim (record: ClusterClientRecord, mode: ClaimMode): Promise<ClaimOutcome> {
    // A node of another format must not take clients: a claim waits for the node lease (right after start(), or
    // after Redis was away).
    if (!this.#member && this.#handlers !== null) await this.#joined()
    if (this.#refusal !== null) throw new ClusterUnavailableError('claim', this.#refusal)
    try {
      const rings = this.#reader?.rings ?? 0
      const sent = performance.now()
      const data = leaseData(record)
      const outcome = await this.#leases.register(record.clientId, { nodeId: this.nodeId, mode, data, inbox: clientBox(record.clientId) })
      if (!outcome.acquired) return { claimed: false, holder: toClient(outcome.holder) }
      this.#sweep?.keep(outcome.lease, data, sent)
      if (outcome.waiting === 0) this.#emptyAtClaim.set(record.clientId, rings)
      else this.#emptyAtClaim.delete(record.clientId)
      return { claimed: true, replacedNode: outcome.replaced?.nodeId ?? null }
    } catch (err) {
      throw unavailable('claim', err)
    }
  }

  async release (clientId: string): Promise<void> {
    this.#emptyAtClaim.delete(clientId)
    const lease = this.#sweep?.forget(clientId)
    if (lease === undefined) return
    // What this node handled leaves the mailbox first, while the lease still fences the acknowledgement.
    const name = streamName(clientBox(clientId))
    this.#sendAck(name, lease)
    await this.#acking.get(name)?.done
    try {
      await this.#leases.release(lease)
    } catch (err) {
      throw unavailable('release', err)
    }
  }

  async update (record: ClusterClientRecord): Promise<void> {
    const held = this.#sweep?.get(record.clientId)
    if (held === undefined) return
    if (this.#refusal !== null) throw new ClusterUnavailableError('update', this.#refusal)
    const data = leaseData(record)
    held.data = data
    const keys = this.redis.keys
    const lease = held.lease
    try {
      await this.redis.run('cluster.update', (client) => LEASE_DATA.run(
        client, [keys.lease(lease.clientId), keys.epoch(lease.clientId)], [lease.epoch, lease.token, JSON.stringify(data)]
      ))
    } catch (err) {
      throw unavailable('update', err)
    }
  }

  async locate (clientId: string): Promise<ClusterClient | null> {
    try {
      const record = await this.#leases.get(clientId)
      return record === null ? null : toClient(record)
    } catch (err) {
      throw unavailable('locate', err)
    }
  }

  async listClients (): Promise<ClusterClient[]> {
    try {
      return (await this.#leases.list()).map(toClient)
    } catch (err) {
      throw unavailable('list clients', err)
    }
  }

  follow (clientId: string): void {
    const reader = this.#reader
    const handlers = this.#handlers
    if (reader === null || handlers === null || this.#stopped) return
    this.#follows.get(clientId)?.()
    // A mailbox found empty when this node claimed the id, with no doorbell since: nothing to read until one rings.
    const rings = this.#emptyAtClaim.get(clientId)
    this.#emptyAtClaim.delete(clientId)
    const catchUp = rings === undefined || rings !== reader.rings
    // Entries handled here and not acknowledged yet (or not answered yet) are not handed over again: read from after
    // them.
    const box = clientBox(clientId)
    const name = streamName(box)
    const afterId = (this.#acks.get(name) ?? this.#acking.get(name))?.entryId
    this.#sendAck(name)
    // Handled entries are acknowledged; one left in the mailbox is handed over again when the client is followed
    // again (from its oldest entry).
    const settle = (handled: boolean, address: StreamAddress, entryId: string): void => {
      if (handled) this.#ack(name, address, entryId, clientId)
      else this.#unfollowBox(clientId)
    }
    const stop = reader.follow(box, (entry, address) => {
      let message: ClusterMessage
      try {
        message = decodeMessage(entry.payload)
      } catch (err) {
        this.#log.warn({ err, clientId, entryId: entry.id }, 'cluster: unreadable mailbox entry dropped')
        this.#ack(name, address, entry.id, clientId)
        return
      }
      // Most entries are handled at once: no promise for those.
      const handled = handlers.deliver(clientId, message)
      if (typeof handled === 'boolean') {
        settle(handled, address, entry.id)
        return
      }
      return handled.then((done) => { settle(done, address, entry.id) })
    }, afterId === undefined ? { catchUp } : { catchUp: true, afterId })
    this.#follows.set(clientId, stop)
  }

  unfollow (clientId: string): void {
    this.#unfollowBox(clientId)
  }

  send (clientId: string, message: ClusterMessage, wakeNode: string): Promise<void> {
    if (this.#refusal !== null) return Promise.reject(new ClusterUnavailableError('send', this.#refusal))
    let appended: Promise<string>
    try {
      appended = this.#mailboxes.append(clientBox(clientId), encodeMessage(message), { wake: wakeNode })
    } catch (err) {
      return Promise.reject(unavailable('send', err))
    }
    // One hop from the script's answer to the caller (a frame per task goes this way).
    return appended.then(sent, sendFailed)
  }

  async sendToHolder (clientId: string, message: ClusterMessage, clientType: ClusterClient['clientType']): Promise<HolderSendOutcome> {
    if (this.#refusal !== null) throw new ClusterUnavailableError('send', this.#refusal)
    try {
      const payload = encodeMessage(message)
      const outcome = await this.#mailboxes.appendToHolder(clientId, clientBox(clientId), payload, { except: this.nodeId, dataPrefix: dataPrefix(clientId, clientType) })
      if (outcome.appended) return { sent: true, nodeId: outcome.nodeId }
      const holder = outcome.holder === null ? null : toClient(outcome.holder)
      if (holder === null || holder.nodeId === this.nodeId || holder.clientType !== clientType) return { sent: false, holder }
      // A lease written in another form (its data not starting as this node writes it): looked up, then sent.
      await this.#mailboxes.append(clientBox(clientId), payload, { wake: holder.nodeId })
      return { sent: true, nodeId: holder.nodeId }
    } catch (err) {
      throw unavailable('send', err)
    }
  }

  /**
   * One `PUBLISH` on the doorbell of node `nodeId`, carrying the frame as its mailbox entry would: nothing is stored.
   * It leaves on the command connection after this node's earlier commands and before its later ones, so Redis
   * delivers it before the doorbell of any later append of this node to that node.
   */
  async notifyNode (nodeId: string, clientId: string, message: ClusterFrameMessage): Promise<void> {
    if (this.#refusal !== null) throw new ClusterUnavailableError('notify', this.#refusal)
    const channel = this.redis.keys.doorbell(nodeId)
    const notice = `\u0001${JSON.stringify(clientId)}\n${encodeMessage(message)}`
    try {
      await this.redis.run('cluster.notify', async (client) => await client.publish(channel, notice))
    } catch (err) {
      throw unavailable('notify', err)
    }
  }

  async sendToNode (nodeId: string, message: NodeMessage): Promise<void> {
    if (this.#refusal !== null) throw new ClusterUnavailableError('send to node', this.#refusal)
    try {
      await this.#mailboxes.append({ kind: 'node', id: nodeId }, JSON.stringify(message), { wake: nodeId })
    } catch (err) {
      throw unavailable('send to node', err)
    }
  }

  async isNodeAlive (nodeId: string): Promise<boolean> {
    const key = this.#nodeKey(nodeId)
    try {
      return await this.redis.run('cluster.node', async (client) => await client.exists(key)) === 1
    } catch (err) {
      throw unavailable('node check', err)
    }
  }

  async listNodes (): Promise<string[]> {
    const key = this.#nodesKey()
    try {
      const nodes = await this.redis.run('cluster.nodes', (client) => LIVE_NODES.run(client, [key], [])) as string[]
      return [...nodes].sort()
    } catch (err) {
      throw unavailable('list nodes', err)
    }
  }

  async putResult (record: TaskRecord): Promise<void> {
    if (this.#refusal !== null) throw new ClusterUnavailableError('put result', this.#refusal)
    try {
      await this.#results.put(record)
    } catch (err) {
      throw unavailable('put result', err)
    }
  }

  async getResult (sessionId: string): Promise<TaskRecord | undefined> {
    try {
      return await this.#results.getBySession(sessionId)
    } catch (err) {
      throw unavailable('get result', err)
    }
  }

  async getResultByTaskName (taskName: string): Promise<TaskRecord | undefined> {
    try {
      return await this.#results.getByTaskName(taskName)
    } catch (err) {
      throw unavailable('get result', err)
    }
  }

  /** A notice of another node (`notifyNode`): the JSON of the client id, a line feed, then a frame's entry. */
  #notice (notice: string, handlers: ClusterHandlers): void {
    let clientId: string
    let message: ClusterMessage
    try {
      const newline = notice.indexOf('\n')
      clientId = JSON.parse(notice.slice(0, newline)) as string
      message = decodeMessage(notice.slice(newline + 1))
    } catch (err) {
      this.#log.warn({ err }, 'cluster: unreadable notice dropped')
      return
    }
    if (message.kind !== 'frame' || this.#stopped) return
    handlers.notice?.(clientId, message)
  }

  #nodeKey (nodeId: string): string {
    return this.redis.keys.record('node', nodeId)
  }

  #nodesKey (): string {
    return `${this.redis.keys.prefix}nodes`
  }

  /** The cluster format of each live node (`<format>:<expiry>`), by node id. */
  #formatsKey (): string {
    return `${this.redis.keys.prefix}node-formats`
  }

  /** Resolves once the node lease write under way (or started now) settled; at once where none can be made. */
  async #joined (): Promise<void> {
    if (this.#stopped || this.redis.health().state !== 'ready') return
    const settled = new Promise<void>((resolve) => { this.#joinWaiters.push(resolve) })
    this.#sweep?.now()
    await settled
  }

  /** Tells the handlers the link's state, when it changed. */
  #announce (): void {
    const handlers = this.#handlers
    if (handlers === null || this.#stopped) return
    const state = this.state
    if (state === this.#announced) return
    this.#announced = state
    handlers.stateChange(state)
  }

  #unfollowBox (clientId: string): void {
    this.#follows.get(clientId)?.()
    this.#follows.delete(clientId)
    // What was handled leaves the mailbox before anyone reads it again.
    this.#sendAck(streamName(clientBox(clientId)))
  }

  /**
   * Acknowledges a handled entry within `ackDelayMs`, under the client's lease when this node holds one: the entries
   * of a mailbox handled meanwhile cost one acknowledgement (sooner when `MAX_UNACKED` wait), and the mailboxes of
   * that moment one script call. An entry whose acknowledgement is lost (Redis away, the node dies first) is handed
   * over again to the next holder, whose handlers are idempotent.
   */
  #ack (name: string, address: StreamAddress, entryId: string, clientId: string | null): void {
    // One record per mailbox until its acknowledgement is sent: moved on in place, entry after entry.
    let pending = this.#acks.get(name)
    if (pending === undefined) {
      pending = { address, entryId, clientId, count: 0 }
      this.#acks.set(name, pending)
    }
    pending.entryId = entryId
    pending.clientId = clientId
    pending.count++
    if (pending.count >= MAX_UNACKED) {
      this.#sendAck(name)
      return
    }
    if (this.#ackTimer !== null || this.#stopped) return
    this.#ackTimer = setTimeout(() => {
      this.#ackTimer = null
      this.#flushAcks()
    }, this.options.ackDelayMs)
    this.#ackTimer.unref()
  }

  #flushAcks (): void {
    for (const name of [...this.#acks.keys()]) this.#sendAck(name)
  }

  /** Sends the pending acknowledgement of a mailbox, fenced by `lease` (default: the lease this node holds now). */
  #sendAck (name: string, lease?: Lease): void {
    const pending = this.#acks.get(name)
    if (pending === undefined) return
    this.#acks.delete(name)
    const { address, entryId, clientId } = pending
    const fence = lease ?? (clientId === null ? undefined : this.#sweep?.get(clientId)?.lease)
    const done = this.#mailboxes.ack(address, entryId, fence === undefined ? {} : { fence }).then(() => {}, (err: unknown) => {
      this.#log.debug({ err, clientId, entryId }, 'cluster: mailbox entry not acknowledged (handed over again)')
    })
    const acking = { entryId, done }
    this.#acking.set(name, acking)
    done.then(() => { if (this.#acking.get(name) === acking) this.#acking.delete(name) }, () => {})
  }

  /**
   * Writes the node lease with this node's cluster format. Throws while a live node of another format keeps this node
   * out (the sweep then renews no client lease). Waiting claims go on once it settled, whatever its outcome.
   */
  async #renewNode (): Promise<void> {
    const keys = [this.#nodeKey(this.nodeId), this.#nodesKey(), this.#formatsKey()]
    try {
      const reply = await this.redis.run('cluster.node', (client) => NODE_LEASE.run(client, keys, [this.#token, this.options.nodeLeaseMs, this.nodeId, CLUSTER_FORMAT])) as string[]
      this.#nodeLeaseWritten(reply)
    } finally {
      const waiters = this.#joinWaiters
      this.#joinWaiters = []
      for (const resolve of waiters) resolve()
    }
  }

  /** Reads the node lease script's answer (see `NODE_LEASE`). */
  #nodeLeaseWritten ([answer, otherNode, format]: string[]): void {
    if (answer === 'format') {
      const refusal = new ClusterFormatError(otherNode as string, format as string, CLUSTER_FORMAT)
      if (this.#refusal?.nodeId !== refusal.nodeId || this.#refusal.format !== refusal.format) {
        this.#log.error({ err: refusal, nodeId: this.nodeId, otherNode, format, ownFormat: CLUSTER_FORMAT }, 'cluster: not joining: a live node runs another cluster format; this node serves its own connections until no such node is left')
      }
      this.#refusal = refusal
      this.#member = false
      this.#announce()
      throw refusal
    }
    if (this.#refusal !== null) {
      this.#log.info({ nodeId: this.nodeId, format: CLUSTER_FORMAT }, 'cluster: joined: no node of another cluster format is left')
      this.#refusal = null
    }
    if (answer === 'taken') this.#log.error({ nodeId: this.nodeId }, 'cluster: another process holds this node id: give every node its own nodeId')
    if (answer === 'mixed' && otherNode !== undefined && !this.#mixedReported.has(otherNode)) {
      this.#mixedReported.add(otherNode)
      this.#log.error({ nodeId: this.nodeId, otherNode, format, ownFormat: CLUSTER_FORMAT }, 'cluster: a node of another cluster format joined after this one (its version does not check): stop it, and upgrade every node of a cluster together')
    }
    this.#member = true
    this.#announce()
  }
}

/**
 * A mailbox entry's payload: the message's JSON, except for a frame, stored as `F`, the JSON of
 * `[sessionId, end, acks, type]`, a line feed and the frame's encoded text, as written to the wire (its object is
 * parsed back from that text when read): a frame is encoded once, and stored once.
 */
function encodeMessage (message: ClusterMessage): string {
  if (message.kind !== 'frame') return JSON.stringify(message)
  return `F${JSON.stringify([message.sessionId, message.end, message.acks ?? 0, message.type ?? message.message.type])}\n${message.text}`
}

/** Reads a mailbox entry's payload. */
function decodeMessage (payload: string): ClusterMessage {
  if (payload.charCodeAt(0) !== 70 /* F */) return JSON.parse(payload) as ClusterMessage
  const newline = payload.indexOf('\n')
  if (newline < 0) throw new TypeError('a frame entry without its text')
  // An entry of an earlier version has no acks, or no type.
  const [sessionId, end, acks, type] = JSON.parse(payload.slice(1, newline)) as [string | null, boolean, number | undefined, string | undefined]
  return new RelayedFrame(sessionId, end, acks ?? 0, typeof type === 'string' ? type as ClusterFrameMessage['type'] : undefined, payload.slice(newline + 1))
}

/**
 * A client's record as its lease's data: always in this field order, so that the JSON starts with its id and type
 * (what {@link dataPrefix} checks inside the append script).
 */
function leaseData (record: ClusterClientRecord): ClusterClientRecord {
  return {
    clientId: record.clientId,
    clientType: record.clientType,
    targetId: record.targetId,
    platform: record.platform,
    systemInfo: record.systemInfo,
    registeredAt: record.registeredAt
  }
}

/** How the lease data of a client of that id and type starts (see {@link leaseData}). */
function dataPrefix (clientId: string, clientType: ClusterClient['clientType']): string {
  return `{"clientId":${JSON.stringify(clientId)},"clientType":${JSON.stringify(clientType)}`
}

/** Handled entries of one mailbox left unacknowledged at most: one more sends the acknowledgement at once. */
const MAX_UNACKED = 256

/** The last handled entry of a mailbox, waiting to be acknowledged. */
interface PendingAck {
  readonly address: StreamAddress
  entryId: string
  /** The client whose lease fences the acknowledgement; `null` for the node's own mailbox. */
  clientId: string | null
  /** Entries handled since the last acknowledgement. */
  count: number
}

function toClient (record: LeaseRecord): ClusterClient {
  const data = (record.data ?? {}) as Partial<ClusterClientRecord>
  return {
    clientId: record.clientId,
    clientType: data.clientType === 'constellation' ? 'constellation' : 'device',
    targetId: data.targetId ?? null,
    platform: data.platform ?? null,
    systemInfo: data.systemInfo ?? null,
    registeredAt: data.registeredAt ?? record.acquiredAt,
    nodeId: record.nodeId,
    epoch: record.epoch
  }
}

/**
 * A frame read from a mailbox entry or a notice: its object is parsed from its text on the first read of `message`
 * only (the requester's node writes the text as it is, and reads no more than the entry's header).
 */
class RelayedFrame implements ClusterFrameMessage {
  readonly kind = 'frame'
  readonly sessionId: string | null
  readonly end: boolean
  readonly acks: number
  readonly type: ClusterFrameMessage['type']
  readonly text: string
  #message: ClusterFrameMessage['message'] | undefined

  /** `type` absent (an entry of an earlier version): the object is read on delivery anyway, so it is parsed now. */
  constructor (sessionId: string | null, end: boolean, acks: number, type: ClusterFrameMessage['type'], text: string) {
    this.sessionId = sessionId
    this.end = end
    this.acks = acks
    this.text = text
    this.#message = undefined
    // An unreadable frame of such an entry throws here, and the entry is dropped as unreadable.
    this.type = type ?? this.message.type
  }

  get message (): ClusterFrameMessage['message'] {
    this.#message ??= JSON.parse(this.text) as ClusterFrameMessage['message']
    return this.#message
  }
}
