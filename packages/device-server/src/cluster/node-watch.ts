import { buildTaskEnd, encodeServerMessage } from '@aip/protocol'
import type { TaskRecord } from '../results.js'
import { Texts } from '../texts.js'
import type { ForwardedSession } from './forward.js'
import type { ClusterClient } from './link.js'
import type { ClusterRuntime } from './runtime.js'

/*
 * Node loss. While this node shares sessions with other nodes (it forwarded tasks to them, or runs tasks for their
 * requesters), it checks their node leases every half node lease, and reacts once to a node found lost:
 * - a session forwarded to the lost node (its agent ran there) ends here, exactly once, with TASK_END failed
 *   (`Task failed because the server running it was lost`), its record stored; later frames of it are dropped;
 * - a `dispatch()` of this node running there ends the same way (its `done` resolves with that failed record);
 * - a session running here for a requester of the lost node goes on, its frames waiting in the requester's
 *   mailbox; at the end of the resume window the requester must hold a lease again (on any node), or the session
 *   is cancelled (`requester_not_resumed`; at once for a requester not granted `resume`).
 */
export class NodeWatch {
  readonly #runtime: ClusterRuntime
  #timer: NodeJS.Timeout | null = null
  #checking = false
  /** Sessions whose requester's node was lost, waiting for the end of the resume window, by session id. */
  readonly #waiting = new Map<string, NodeJS.Timeout>()

  constructor (runtime: ClusterRuntime) {
    this.#runtime = runtime
  }

  /** Starts the checks if they are not running (a session now involves another node). */
  ensure (): void {
    if (this.#timer !== null) return
    const every = Math.max(1, Math.floor(this.#runtime.link.nodeLeaseMs / 2))
    this.#timer = setInterval(() => { this.check().catch(() => {}) }, every)
    this.#timer.unref()
  }

  /** Stops every check and timer. */
  stop (): void {
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
    for (const timer of this.#waiting.values()) clearTimeout(timer)
    this.#waiting.clear()
  }

  /** One round: the nodes this node shares sessions with are checked; lost ones are handled. */
  async check (): Promise<void> {
    const runtime = this.#runtime
    if (this.#checking || !runtime.ready) return
    const nodes = new Set<string>()
    for (const forwarded of runtime.forwarded.values()) nodes.add(forwarded.nodeId)
    for (const nodeId of runtime.dispatches.nodes()) nodes.add(nodeId)
    for (const [sessionId, remote] of runtime.remote) if (!this.#waiting.has(sessionId)) nodes.add(remote.nodeId)
    nodes.delete(runtime.link.nodeId)
    if (nodes.size === 0) {
      if (this.#waiting.size === 0 && this.#timer !== null) {
        clearInterval(this.#timer)
        this.#timer = null
      }
      return
    }
    this.#checking = true
    try {
      for (const nodeId of nodes) {
        if (await runtime.link.isNodeAlive(nodeId)) continue
        this.nodeLost(nodeId)
      }
    } catch (err) {
      runtime.core.logger.debug({ err }, 'cluster: node check failed; retried at the next round')
    } finally {
      this.#checking = false
    }
  }

  /** Handles the loss of `nodeId`, once per session. */
  nodeLost (nodeId: string): void {
    const runtime = this.#runtime
    const { core } = runtime
    core.logger.warn({ nodeId }, 'cluster: a node was lost')
    for (const forwarded of [...runtime.forwarded.values()]) {
      if (forwarded.nodeId === nodeId) this.#endLost(forwarded)
    }
    runtime.dispatches.nodeLost(nodeId)
    for (const [sessionId, remote] of runtime.remote) {
      if (remote.nodeId !== nodeId || this.#waiting.has(sessionId)) continue
      if (!remote.resumable) {
        this.#cancel(sessionId, 'requester_disconnected')
        continue
      }
      const timer = setTimeout(() => { this.#afterWindow(sessionId).catch(() => {}) }, core.options.resumeWindowMs)
      timer.unref()
      this.#waiting.set(sessionId, timer)
    }
  }

  /** The resume window of a requester of a lost node is over: it must hold a lease on a live node by now. */
  async #afterWindow (sessionId: string): Promise<void> {
    const runtime = this.#runtime
    this.#waiting.delete(sessionId)
    const remote = runtime.remote.get(sessionId)
    if (remote === undefined) return
    let holder: ClusterClient | null = null
    try {
      holder = await runtime.link.locate(remote.requesterId)
    } catch (err) {
      runtime.core.logger.warn({ err, sessionId }, 'cluster: requester lookup failed at the end of its resume window')
    }
    if (holder !== null && holder.nodeId !== remote.nodeId) {
      remote.nodeId = holder.nodeId
      return
    }
    this.#cancel(sessionId, 'requester_not_resumed')
  }

  #cancel (sessionId: string, reason: 'requester_not_resumed' | 'requester_disconnected'): void {
    const session = this.#runtime.core.sessions.get(sessionId)
    if (session !== undefined) this.#runtime.core.cancelSession(session, reason)
  }

  /** Ends a session whose agent ran on a lost node: TASK_END failed to its requester, its record stored. */
  #endLost (forwarded: ForwardedSession): void {
    const runtime = this.#runtime
    const { core } = runtime
    if (runtime.forwarded.get(forwarded.sessionId) !== forwarded) return
    runtime.forwarded.delete(forwarded.sessionId)
    runtime.markEnded(forwarded.sessionId)
    const message = buildTaskEnd({ sessionId: forwarded.sessionId, status: 'failed', result: null, error: Texts.nodeLost })
    const text = encodeServerMessage(message, { validate: false })
    const record: TaskRecord = {
      sessionId: forwarded.sessionId,
      taskName: forwarded.taskName,
      requesterId: forwarded.requesterId,
      deviceId: forwarded.deviceId,
      request: forwarded.request,
      status: 'failed',
      error: Texts.nodeLost,
      result: null,
      startedAt: forwarded.startedAt,
      endedAt: core.options.now(),
      sizeBytes: text.length + forwarded.request.length
    }
    core.options.results.put(record)
    runtime.link.putResult(record).catch((err: unknown) => { core.logger.warn({ err, sessionId: record.sessionId }, 'cluster: result not stored') })
    core.clients.get(forwarded.requesterId)?.sendEncoded(message, text)
    core.logger.warn({ sessionId: forwarded.sessionId, deviceId: forwarded.deviceId, nodeId: forwarded.nodeId }, 'task ended: the node running it was lost')
    core.events.emit('taskEnd', record)
  }
}
