import { ClusterUnavailableError } from '../errors.js'
import type { TaskRecord } from '../results.js'
import type {
  ClaimMode, ClaimOutcome, ClusterClient, ClusterClientRecord, ClusterFrameMessage, ClusterHandlers, ClusterLink, ClusterMessage, ClusterState,
  HolderSendOutcome, NodeMessage
} from './link.js'
import type { ClientType } from '@aip/protocol'

/** A client lease of the hub. */
interface HubLease {
  readonly nodeId: string
  readonly epoch: number
  record: ClusterClientRecord
}

/** Options of {@link InMemoryClusterHub}. */
export interface InMemoryClusterHubOptions {
  /** The `nodeLeaseMs` of its links: nodes check each other every half of it. Default 1000. */
  nodeLeaseMs?: number
  /** Finished tasks kept; the oldest go first. Default 10000. */
  maxResults?: number
}

/**
 * A cluster store in one process: several `DeviceServerEndpoint`s in the same process share it through their
 * links ({@link link}), for tests and demos of the cluster without Redis. It follows the contract of
 * {@link ClusterLink} (leases with epochs, mailboxes handed over in order and kept until handled, node liveness,
 * results, notices not stored), and can simulate what a real store lives through: {@link setAvailable} (the store
 * down and back), {@link loseNode} (a node that dies: its leases go, its link is cut) and {@link setNoticesLost}
 * (what `notifyNode` sends never arrives). Nothing is persisted.
 */
export class InMemoryClusterHub {
  /** The links' node lease length, in milliseconds. */
  readonly nodeLeaseMs: number
  readonly #maxResults: number
  readonly #leases = new Map<string, HubLease>()
  readonly #epochs = new Map<string, number>()
  readonly #links = new Map<string, InMemoryClusterLink>()
  readonly #mailboxes = new Map<string, ClusterMessage[]>()
  readonly #results = new Map<string, TaskRecord>()
  readonly #byTaskName = new Map<string, string>()
  #available = true
  #noticesLost = false

  constructor (options: InMemoryClusterHubOptions = {}) {
    this.nodeLeaseMs = options.nodeLeaseMs ?? 1000
    this.#maxResults = options.maxResults ?? 10_000
  }

  /** The link of node `nodeId` (made on first call): pass it as the `cluster` option of that node's endpoint. */
  link (nodeId: string): InMemoryClusterLink {
    let link = this.#links.get(nodeId)
    if (link === undefined) {
      link = new InMemoryClusterLink(this, nodeId)
      this.#links.set(nodeId, link)
    }
    return link
  }

  /** Whether the store answers. Unavailable: every link is `down` and rejects with `AIP_ERR_CLUSTER_UNAVAILABLE`. */
  get available (): boolean {
    return this.#available
  }

  /** Makes the store unavailable (`false`) or available again (`true`); every link's state follows. */
  setAvailable (available: boolean): void {
    if (this.#available === available) return
    this.#available = available
    for (const link of this.#links.values()) link.notify()
    if (available) for (const link of this.#links.values()) link.pumpAll()
  }

  /**
   * Simulates the death of a node: its node lease and client leases go at once (as if they had expired), and its
   * link is cut (nothing it sends arrives, nothing is delivered to it). The endpoint itself is not touched.
   */
  loseNode (nodeId: string): void {
    const link = this.#links.get(nodeId)
    if (link !== undefined) link.lost = true
    for (const [clientId, lease] of this.#leases) if (lease.nodeId === nodeId) this.#leases.delete(clientId)
  }

  /**
   * Loses (`true`) or delivers again (`false`) what the links send with `notifyNode` (a TASK's ack), as pub/sub does
   * while a node's subscriber reconnects. Mailboxes are not touched.
   */
  setNoticesLost (lost: boolean): void {
    this.#noticesLost = lost
  }

  /** Entries waiting in a client's mailbox (for tests). */
  mailboxLength (clientId: string): number {
    return this.#mailboxes.get(clientId)?.length ?? 0
  }

  // ----- Used by the links -----

  /** @internal */
  check (link: InMemoryClusterLink, operation: string): void {
    if (!this.#available || link.lost) throw new ClusterUnavailableError(operation)
  }

  /** @internal */
  claim (nodeId: string, record: ClusterClientRecord, mode: ClaimMode): ClaimOutcome {
    const current = this.#leases.get(record.clientId)
    if (current !== undefined && mode === 'if-absent') return { claimed: false, holder: toClient(record.clientId, current) }
    const epoch = (this.#epochs.get(record.clientId) ?? 0) + 1
    this.#epochs.set(record.clientId, epoch)
    this.#leases.set(record.clientId, { nodeId, epoch, record })
    if (current !== undefined && current.nodeId !== nodeId) this.#links.get(current.nodeId)?.fenced(record.clientId)
    return { claimed: true, replacedNode: current?.nodeId ?? null }
  }

  /** @internal */
  release (nodeId: string, clientId: string): void {
    if (this.#leases.get(clientId)?.nodeId === nodeId) this.#leases.delete(clientId)
  }

  /** @internal */
  update (nodeId: string, record: ClusterClientRecord): void {
    const lease = this.#leases.get(record.clientId)
    if (lease?.nodeId === nodeId) lease.record = record
  }

  /** @internal */
  locate (clientId: string): ClusterClient | null {
    const lease = this.#leases.get(clientId)
    return lease === undefined ? null : toClient(clientId, lease)
  }

  /** @internal */
  list (): ClusterClient[] {
    return [...this.#leases].map(([clientId, lease]) => toClient(clientId, lease)).sort((a, b) => a.clientId < b.clientId ? -1 : 1)
  }

  /** @internal */
  mailbox (clientId: string): ClusterMessage[] {
    let box = this.#mailboxes.get(clientId)
    if (box === undefined) {
      box = []
      this.#mailboxes.set(clientId, box)
    }
    return box
  }

  /** @internal */
  append (clientId: string, message: ClusterMessage): void {
    this.mailbox(clientId).push(structuredClone(message))
    for (const link of this.#links.values()) link.pump(clientId)
  }

  /** @internal */
  notice (nodeId: string, clientId: string, message: ClusterFrameMessage): void {
    const link = this.#links.get(nodeId)
    if (link !== undefined && !link.lost && !this.#noticesLost) link.noticed(clientId, structuredClone(message))
  }

  /** @internal */
  toNode (nodeId: string, message: NodeMessage): void {
    const link = this.#links.get(nodeId)
    if (link !== undefined && !link.lost) link.nodeMessage(structuredClone(message))
  }

  /** @internal */
  alive (nodeId: string): boolean {
    const link = this.#links.get(nodeId)
    return link !== undefined && link.started && !link.lost
  }

  /** @internal */
  nodes (): string[] {
    return [...this.#links.keys()].filter((nodeId) => this.alive(nodeId)).sort()
  }

  /** @internal */
  putResult (record: TaskRecord): void {
    this.#results.delete(record.sessionId)
    this.#results.set(record.sessionId, structuredClone(record))
    this.#byTaskName.set(record.taskName, record.sessionId)
    while (this.#results.size > this.#maxResults) this.#results.delete(this.#results.keys().next().value as string)
  }

  /** @internal */
  getResult (sessionId: string): TaskRecord | undefined {
    return this.#results.get(sessionId)
  }

  /** @internal */
  getResultByTaskName (taskName: string): TaskRecord | undefined {
    const sessionId = this.#byTaskName.get(taskName)
    return sessionId === undefined ? undefined : this.#results.get(sessionId)
  }
}

function toClient (clientId: string, lease: HubLease): ClusterClient {
  return { ...lease.record, clientId, nodeId: lease.nodeId, epoch: lease.epoch }
}

/** One node's link to an {@link InMemoryClusterHub}. */
export class InMemoryClusterLink implements ClusterLink {
  readonly nodeId: string
  readonly #hub: InMemoryClusterHub
  #handlers: ClusterHandlers | null = null
  readonly #follows = new Set<string>()
  readonly #busy = new Set<string>()
  #stopped = false
  /** @internal Set by {@link InMemoryClusterHub.loseNode}. */
  lost = false

  constructor (hub: InMemoryClusterHub, nodeId: string) {
    this.#hub = hub
    this.nodeId = nodeId
  }

  get nodeLeaseMs (): number {
    return this.#hub.nodeLeaseMs
  }

  /** @internal Started and not stopped. */
  get started (): boolean {
    return this.#handlers !== null && !this.#stopped
  }

  get state (): ClusterState {
    if (this.#stopped) return 'stopped'
    if (this.#handlers === null) return 'connecting'
    return this.#hub.available && !this.lost ? 'ready' : 'down'
  }

  async start (handlers: ClusterHandlers): Promise<void> {
    this.#handlers = handlers
    handlers.stateChange(this.state)
  }

  async stop (): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    this.#follows.clear()
  }

  async claim (record: ClusterClientRecord, mode: ClaimMode): Promise<ClaimOutcome> {
    this.#hub.check(this, 'claim')
    return this.#hub.claim(this.nodeId, record, mode)
  }

  async release (clientId: string): Promise<void> {
    this.#hub.check(this, 'release')
    this.#hub.release(this.nodeId, clientId)
  }

  async update (record: ClusterClientRecord): Promise<void> {
    this.#hub.check(this, 'update')
    this.#hub.update(this.nodeId, record)
  }

  async locate (clientId: string): Promise<ClusterClient | null> {
    this.#hub.check(this, 'locate')
    return this.#hub.locate(clientId)
  }

  async listClients (): Promise<ClusterClient[]> {
    this.#hub.check(this, 'list clients')
    return this.#hub.list()
  }

  follow (clientId: string): void {
    this.#follows.add(clientId)
    this.pump(clientId)
  }

  unfollow (clientId: string): void {
    this.#follows.delete(clientId)
  }

  async sendToHolder (clientId: string, message: ClusterMessage, clientType: ClientType): Promise<HolderSendOutcome> {
    this.#hub.check(this, 'send')
    const holder = this.#hub.locate(clientId)
    if (holder === null || holder.nodeId === this.nodeId || holder.clientType !== clientType) return { sent: false, holder }
    this.#hub.append(clientId, message)
    return { sent: true, nodeId: holder.nodeId }
  }

  async send (clientId: string, message: ClusterMessage, _wakeNode: string): Promise<void> {
    this.#hub.check(this, 'send')
    this.#hub.append(clientId, message)
  }

  async notifyNode (nodeId: string, clientId: string, message: ClusterFrameMessage): Promise<void> {
    this.#hub.check(this, 'notify')
    this.#hub.notice(nodeId, clientId, message)
  }

  async sendToNode (nodeId: string, message: NodeMessage): Promise<void> {
    this.#hub.check(this, 'send to node')
    this.#hub.toNode(nodeId, message)
  }

  async isNodeAlive (nodeId: string): Promise<boolean> {
    this.#hub.check(this, 'node check')
    return this.#hub.alive(nodeId)
  }

  async listNodes (): Promise<string[]> {
    this.#hub.check(this, 'list nodes')
    return this.#hub.nodes()
  }

  async putResult (record: TaskRecord): Promise<void> {
    this.#hub.check(this, 'put result')
    this.#hub.putResult(record)
  }

  async getResult (sessionId: string): Promise<TaskRecord | undefined> {
    this.#hub.check(this, 'get result')
    return this.#hub.getResult(sessionId)
  }

  async getResultByTaskName (taskName: string): Promise<TaskRecord | undefined> {
    this.#hub.check(this, 'get result')
    return this.#hub.getResultByTaskName(taskName)
  }

  /** @internal The store's availability changed. */
  notify (): void {
    if (this.started) this.#handlers?.stateChange(this.state)
  }

  /** @internal Another node took a lease of this one. */
  fenced (clientId: string): void {
    const handlers = this.#handlers
    if (handlers === null || !this.started || this.lost) return
    setImmediate(() => { handlers.clientLost(clientId, 'fenced') })
  }

  /** @internal A notice arrived (after what was appended before it, handed over in the same order). */
  noticed (clientId: string, message: ClusterFrameMessage): void {
    const handlers = this.#handlers
    if (handlers === null || !this.started) return
    setImmediate(() => { handlers.notice?.(clientId, message) })
  }

  /** @internal A node message arrived. */
  nodeMessage (message: NodeMessage): void {
    const handlers = this.#handlers
    if (handlers === null || !this.started) return
    setImmediate(() => { handlers.nodeMessage(message) })
  }

  /** @internal Delivers every followed mailbox. */
  pumpAll (): void {
    for (const clientId of this.#follows) this.pump(clientId)
  }

  /** @internal Hands the mailbox of `clientId` over, oldest first, one entry at a time. */
  pump (clientId: string): void {
    if (!this.#follows.has(clientId) || this.#busy.has(clientId)) return
    this.#busy.add(clientId)
    setImmediate(() => {
      this.#drain(clientId).catch(() => {}).finally(() => {
        this.#busy.delete(clientId)
        // An entry appended as the round ended is handed over by a new round.
        if (this.#hub.mailbox(clientId).length > 0 && this.#deliverable(clientId)) this.pump(clientId)
      })
    })
  }

  #deliverable (clientId: string): boolean {
    return this.#follows.has(clientId) && this.started && !this.lost && this.#hub.available
  }

  async #drain (clientId: string): Promise<void> {
    const box = this.#hub.mailbox(clientId)
    // Bounded by the entries in the mailbox: each round hands one over and removes it, or stops.
    while (box.length > 0 && this.#deliverable(clientId)) {
      const head = box[0] as ClusterMessage
      const handled = await (this.#handlers as ClusterHandlers).deliver(clientId, head)
      if (!handled) {
        this.#follows.delete(clientId)
        return
      }
      if (box[0] === head) box.shift()
    }
  }
}
