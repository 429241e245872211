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

/**
 * The embedded session store. Its size is bounded by the server's `maxSessions`. The oldest running session is kept
 * in a slot of its own while it is the only one, the others in a Map: a server running one task at a time (light
 * load) does not make a Map's table empty and then grow it again at every task (an empty Map shrinks its table).
 */
export class InMemorySessionStore implements SessionStore {
  /** The oldest running session while no other was added before it, else `null`; older than every Map entry. */
  #first: Session | null = null
  readonly #more = new Map<string, Session>()

  add (session: Session): void {
    if (this.#first === null && this.#more.size === 0) this.#first = session
    else if (this.#first?.id === session.id) this.#first = session
    else this.#more.set(session.id, session)
  }

  get (sessionId: string): Session | undefined {
    const first = this.#first
    if (first !== null && first.id === sessionId) return first
    return this.#more.size === 0 ? undefined : this.#more.get(sessionId)
  }

  delete (sessionId: string): void {
    if (this.#first !== null && this.#first.id === sessionId) this.#first = null
    else if (this.#more.size > 0) this.#more.delete(sessionId)
  }

  list (): Session[] {
    const first = this.#first
    if (this.#more.size === 0) return first === null ? [] : [first]
    return first === null ? [...this.#more.values()] : [first, ...this.#more.values()]
  }

  get size (): number {
    return (this.#first === null ? 0 : 1) + this.#more.size
  }
}
