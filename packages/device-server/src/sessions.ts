import type { Session } from './session.js'

/**
 * The running sessions of a server (the design's `session_manager`): from a TASK's ack to its TASK_END. A session
 * holds live state (its agent's AbortSignal, the COMMANDs waiting for results), so every implementation keeps the
 * sessions of its own node as objects. The in-memory default is all a single node needs; a shared implementation
 * (Redis, for example) also publishes each session's id, requester, device and the epoch of the device's
 * registration under a lease renewed while the task runs, so that another node can tell a session id in use
 * and route a requester to the node that runs it. Calls are synchronous against that local view; such an
 * implementation synchronises in the background.
 */
export interface SessionStore {
  /** Adds a session that just started. Its id is not in use (the server checked {@link SessionStore.get}). */
  add: (session: Session) => void
  /** The running session with this id. */
  get: (sessionId: string) => Session | undefined
  /** Removes a session at its TASK_END. */
  delete: (sessionId: string) => void
  /** The running sessions, as a snapshot: the caller may add or delete while it iterates. */
  list: () => Session[]
  /** Number of running sessions. */
  readonly size: number
}

/** The embedded session store: a Map. Its size is bounded by the server's `maxSessions`. */
export class InMemorySessionStore implements SessionStore {
  readonly #sessions = new Map<string, Session>()

  add (session: Session): void {
    this.#sessions.set(session.id, session)
  }

  get (sessionId: string): Session | undefined {
    return this.#sessions.get(sessionId)
  }

  delete (sessionId: string): void {
    this.#sessions.delete(sessionId)
  }

  list (): Session[] {
    return [...this.#sessions.values()]
  }

  get size (): number {
    return this.#sessions.size
  }
}
