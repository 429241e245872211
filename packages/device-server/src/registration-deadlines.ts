import { CloseCode } from '@aip/endpoint'
import type { ClientConnection } from './connection.js'
import type { ServerCore } from './core.js'
import { serverError } from './server-error.js'
import { Texts } from './texts.js'

/**
 * The registration deadlines of a server's new connections. Every connection gets the same delay, so deadlines
 * fall due in the order the connections came: one timer, armed for the oldest, serves them all (instead of a timer
 * and a closure per connection). A connection that registered or closed is skipped when its turn comes; the owner
 * clears everything when no connection is open any more. The timer is unref'd.
 */
export class RegistrationDeadlines {
  readonly #delayMs: number
  readonly #expire: (connection: ClientConnection) => void
  /**
   * Connections in the order they came, with their deadlines; `#head` is the oldest not yet due. A connection that
   * registered or closed is released (its slot set to `null`), so that the queue never keeps a closed connection
   * (and its socket's buffers) alive until its deadline.
   */
  #queue: Array<ClientConnection | null> = []
  #dueAt: number[] = []
  #head = 0
  /** Tickets handed out before `#queue[0]` (tickets are absolute: they survive the queue's compaction). */
  #base = 0
  #timer: NodeJS.Timeout | undefined = undefined

  /**
   * @param delayMs - the registration deadline of every connection
   * @param expire - told when a connection that has neither registered nor closed reaches its deadline
   */
  constructor (delayMs: number, expire: (connection: ClientConnection) => void) {
    this.#delayMs = delayMs
    this.#expire = expire
  }

  /** Deadlines not yet due (those of connections that registered or closed meanwhile included). */
  get size (): number {
    return this.#queue.length - this.#head
  }

  /** Starts the deadline of a new connection; returns its ticket, for {@link release}. */
  add (connection: ClientConnection): number {
    this.#queue.push(connection)
    this.#dueAt.push(performance.now() + this.#delayMs)
    if (this.#timer === undefined) this.#arm()
    return this.#base + this.#queue.length - 1
  }

  /** Forgets the connection of `ticket` (it registered, or closed); no effect once its turn has passed. */
  release (ticket: number): void {
    const at = ticket - this.#base
    if (at >= this.#head && at < this.#queue.length) this.#queue[at] = null
  }

  /** Clears the timer and every deadline (no connection is open any more). */
  clear (): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    this.#base += this.#queue.length
    this.#queue = []
    this.#dueAt = []
    this.#head = 0
  }

  #arm (): void {
    const wait = Math.max(0, Math.ceil((this.#dueAt[this.#head] as number) - performance.now()))
    this.#timer = setTimeout(this.#fire, wait)
    this.#timer.unref()
  }

  readonly #fire = (): void => {
    this.#timer = undefined
    const now = performance.now()
    const queue = this.#queue
    // Bounded: every pass moves the head on; connections added by `expire` are due later.
    while (this.#head < queue.length && (this.#dueAt[this.#head] as number) <= now) {
      const connection = queue[this.#head]
      queue[this.#head] = null
      this.#head++
      if (connection != null && connection.identity === null && !connection.closed) this.#expire(connection)
    }
    if (this.#head >= queue.length) {
      this.clear()
      return
    }
    // Drop what was served once it is most of the queue: each entry is copied a bounded number of times.
    if (this.#head >= 1024 && this.#head * 2 >= queue.length) {
      this.#queue = queue.slice(this.#head)
      this.#dueAt = this.#dueAt.slice(this.#head)
      this.#base += this.#head
      this.#head = 0
    }
    this.#arm()
  }
}

/** A connection that neither registered nor closed within the registration deadline gets an ERROR and 4001. */
export function expireRegistration (core: ServerCore, connection: ClientConnection): void {
  const timeoutMs = core.options.registrationTimeoutMs
  core.logger.info({ connectionId: connection.connectionId }, 'no REGISTER in time')
  connection.sendAndClose(serverError({ error: Texts.registrationTimeout(timeoutMs) }), CloseCode.RegistrationTimeout, 'registration timeout')
}
