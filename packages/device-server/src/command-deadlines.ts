import type { Session } from './session.js'

/**
 * The timeouts of the COMMANDs sent with the server's `commandTimeoutMs` (the usual case). They all have the same
 * delay, so they fall due in the order they were sent: one timer, armed for the oldest, serves them all, instead of
 * a timer and a closure per COMMAND. A COMMAND answered is released and leaves the queue as soon as nothing older
 * waits; the timer is left as it is (when it fires it re-arms for the oldest COMMAND still waiting, if any), so a
 * server answering one COMMAND at a time arms a timer once per `commandTimeoutMs`, not once per COMMAND. The timer
 * is unref'd.
 */
export class CommandDeadlines {
  readonly #delayMs: number
  readonly #expire: (session: Session, responseId: string, timeoutMs: number) => void
  /** Sessions of the COMMANDs waiting, in the order they were sent; `null` once released. */
  #sessions: Array<Session | null> = []
  #responseIds: string[] = []
  #dueAt: number[] = []
  /** Index of the oldest entry still waiting (every entry before it is released or expired). */
  #head = 0
  /** Tickets handed out before index 0 (tickets are absolute: they survive the queue's compaction). */
  #base = 0
  #timer: NodeJS.Timeout | undefined = undefined

  /**
   * @param delayMs - the timeout of every COMMAND of this queue
   * @param expire - told when a COMMAND still waiting reaches its timeout
   */
  constructor (delayMs: number, expire: (session: Session, responseId: string, timeoutMs: number) => void) {
    this.#delayMs = delayMs
    this.#expire = expire
  }

  /** The timeout of every COMMAND of this queue. */
  get delayMs (): number {
    return this.#delayMs
  }

  /** COMMANDs waiting (released ones behind the oldest waiting included). */
  get size (): number {
    return this.#sessions.length - this.#head
  }

  /** Whether the timer is armed. */
  get armed (): boolean {
    return this.#timer !== undefined
  }

  /** Starts the timeout of a COMMAND of `session` just sent; returns its ticket, for {@link release}. */
  add (session: Session, responseId: string): number {
    this.#sessions.push(session)
    this.#responseIds.push(responseId)
    this.#dueAt.push(performance.now() + this.#delayMs)
    if (this.#timer === undefined) this.#arm()
    return this.#base + this.#sessions.length - 1
  }

  /** Forgets the COMMAND of `ticket` (answered, failed or abandoned); no effect once it has expired. */
  release (ticket: number): void {
    const at = ticket - this.#base
    if (at < this.#head || at >= this.#sessions.length) return
    this.#sessions[at] = null
    if (at === this.#head) this.#advance()
  }

  /** Clears the timer and every timeout (the server has stopped). */
  clear (): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    this.#reset()
  }

  /** Moves the head past released entries; an empty queue drops its arrays' content (the timer stays). */
  #advance (): void {
    const sessions = this.#sessions
    while (this.#head < sessions.length && sessions[this.#head] === null) this.#head++
    if (this.#head === sessions.length) {
      this.#reset()
    } else if (this.#head >= 1024 && this.#head * 2 >= sessions.length) {
      // Drop what was served once it is most of the queue: each entry is copied a bounded number of times.
      this.#sessions = sessions.slice(this.#head)
      this.#responseIds = this.#responseIds.slice(this.#head)
      this.#dueAt = this.#dueAt.slice(this.#head)
      this.#base += this.#head
      this.#head = 0
    }
  }

  #reset (): void {
    this.#base += this.#sessions.length
    this.#sessions.length = 0
    this.#responseIds.length = 0
    this.#dueAt.length = 0
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
    // Bounded: every pass moves the head on; COMMANDs sent by `expire` are due later.
    while (this.#head < this.#sessions.length && (this.#dueAt[this.#head] as number) <= now) {
      const at = this.#head
      const session = this.#sessions[at] as Session | null
      this.#sessions[at] = null
      this.#head++
      if (session !== null) this.#expire(session, this.#responseIds[at] as string, this.#delayMs)
    }
    this.#advance()
    if (this.#head < this.#sessions.length && this.#timer === undefined) this.#arm()
  }
}
