import type { ClusterSessionInfo, DeviceServerEndpoint, SessionInfo, TaskRecord } from '@aip/device-server'

/** A task still running. */
export interface RunningSession {
  readonly status: 'running'
  readonly sessionId: string
  /** The sanitised task name. */
  readonly taskName: string
  readonly requesterId: string
  readonly deviceId: string
  /** Milliseconds since the epoch. */
  readonly startedAt: number
}

/**
 * A task running on some node of the cluster, as {@link AipSessions.listClusterWide} lists it: a
 * {@link RunningSession} with the node running it (`local` on a server without a cluster).
 */
export interface ClusterRunningSession extends RunningSession {
  /** The node running the task (its agent, next to its device). */
  readonly nodeId: string
}

/** A session as {@link AipSessions.get} returns it: running, or finished (`status` `completed` or `failed`). */
export type SessionView = RunningSession | TaskRecord

/** What {@link AipSessions.on} listeners receive. */
export type SessionChange =
  | { readonly type: 'started', readonly session: RunningSession }
  | { readonly type: 'ended', readonly record: TaskRecord }

/** Returned by `on()`: removes the listener. */
export type Unsubscribe = () => void

/** Where the plugin logs listener failures. */
interface ErrorLog { error: (obj: Record<string, unknown>, msg: string) => void }

/** A running session of the endpoint, as the decorator shows it. */
function running (session: SessionInfo): RunningSession {
  return { status: 'running', ...session }
}

/**
 * `fastify.aip.sessions`: a view of the endpoint's sessions: the running ones and the finished ones (read back
 * from its result store) are asked of the endpoint, which holds them; `on('change')` relays its events.
 */
export class AipSessions {
  readonly #endpoint: DeviceServerEndpoint
  readonly #listeners = new Set<(change: SessionChange) => void>()
  readonly #disposers: Unsubscribe[] = []
  readonly #log: ErrorLog
  #closed = false

  constructor (endpoint: DeviceServerEndpoint, log: ErrorLog) {
    this.#endpoint = endpoint
    this.#log = log
  }

  /** Listens to the endpoint while someone listens to the changes: nothing runs per task otherwise. */
  #attach (): void {
    const endpoint = this.#endpoint
    this.#disposers.push(
      endpoint.on('sessionStarted', (started) => {
        const session = endpoint.getSession(started.sessionId)
        this.#emit({ type: 'started', session: session === undefined ? { status: 'running', ...started, startedAt: endpoint.options.now() } : running(session) })
      }),
      endpoint.on('taskEnd', (record) => {
        this.#emit({ type: 'ended', record })
      })
    )
  }

  /** The sessions running on this server, oldest first (see {@link listClusterWide} for every node of a cluster). */
  list (): RunningSession[] {
    return this.#endpoint.listSessions().map(running)
  }

  /**
   * The sessions running on every node of the cluster, oldest first, each with the `nodeId` running it. Every other
   * live node is asked; one that does not answer in time (`takeoverProbeMs` plus a second) is left out and logged.
   * Without a cluster: this server's sessions, `nodeId` `local`.
   * @throws `AIP_ERR_CLUSTER_UNAVAILABLE` (503) when the cluster store cannot be reached
   */
  async listClusterWide (): Promise<ClusterRunningSession[]> {
    const sessions: ClusterSessionInfo[] = await this.#endpoint.listClusterSessions()
    return sessions.map((session) => ({ status: 'running' as const, ...session }))
  }

  /** A running session, or the record of a finished one while it is kept; `undefined` otherwise. */
  get (sessionId: string): SessionView | undefined {
    const session = this.#endpoint.getSession(sessionId)
    return session === undefined ? this.#endpoint.getResult(sessionId) : running(session)
  }

  /** The latest running session with this (sanitised) task name. */
  findRunningByTaskName (taskName: string): RunningSession | undefined {
    let found: SessionInfo | undefined
    for (const session of this.#endpoint.listSessions()) if (session.taskName === taskName) found = session
    return found === undefined ? undefined : running(found)
  }

  /** Cancels a running session: its requester gets TASK_END failed. False when it is not running. */
  cancel (sessionId: string): boolean {
    return this.#endpoint.cancelSession(sessionId, 'cancelled')
  }

  /** Listens to session changes (`started`, `ended`); returns the function that unsubscribes. */
  on (event: 'change', listener: (change: SessionChange) => void): Unsubscribe {
    if (event !== 'change') throw new TypeError(`unknown event ${String(event)}`)
    if (this.#listeners.size === 0 && this.#disposers.length === 0 && !this.#closed) this.#attach()
    this.#listeners.add(listener)
    return () => {
      if (!this.#listeners.delete(listener) || this.#listeners.size > 0) return
      for (const dispose of this.#disposers.splice(0)) dispose()
    }
  }

  /** Drops every listener (the plugin's `onClose`). */
  close (): void {
    this.#closed = true
    for (const dispose of this.#disposers.splice(0)) dispose()
    this.#listeners.clear()
  }

  #emit (change: SessionChange): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(change)
      } catch (err) {
        this.#log.error({ err, sessionId: change.type === 'started' ? change.session.sessionId : change.record.sessionId }, 'session change listener failed')
      }
    }
  }
}
