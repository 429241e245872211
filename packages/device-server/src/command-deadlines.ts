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
  /**
   * Sessions of the COMMANDs waiting, in the order they were sent, in slots `#head` to `#tail`; `null` once released.
   * The three arrays keep their length when the queue empties: the next COMMANDs write over the same slots (an array
   * truncated to nothing gives up its storage, and one COMMAND at a time would then allocate it again every time).
   */
  #sessions: Array<Session | null> = []
  #responseIds: string[] = []
  #dueAt: number[] = []
  /** Index of the oldest entry still waiting (every entry before it is released or expired). */
  #head = 0
  /** One past the newest entry. */
  #tail = 0
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
    return this.#tail - this.#head
  }

  /** Whether the timer is armed. */
  get armed (): boolean {
    return this.#timer !== undefined
  }

  /** Starts the timeout of a COMMAND of `session` just sent; returns its ticket, for {@link release}. */
  add (session: Session, responseId: string): number {
    const at = this.#tail++
    const dueAt = performance.now() + this.#delayMs
    if (at < this.#sessions.length) {
      this.#sessions[at] = session
      this.#responseIds[at] = responseId
      this.#dueAt[at] = dueAt
    } else {
      this.#sessions.push(session)
      this.#responseIds.push(responseId)
      this.#dueAt.push(dueAt)
    }
    if (this.#timer === undefined) this.#arm()
    return this.#base + at
  }

  /** Forgets the COMMAND of `ticket` (answered, failed or abandoned); no effect once it has expired. */
  release (ticket: number): void {
    const at = ticket - this.#base
    if (at < this.#head || at >= this.#tail) return
    this.#sessions[at] = null
    // The id is dropped with its session: a slot kept for the next COMMAND holds nothing of a finished one.
    this.#responseIds[at] = ''
    if (at === this.#head) this.#advance()
  }

  /** Clears the timer and every timeout (the server has stopped). */
  clear (): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    this.#reset()
  }

  /** Moves the head past released entries; an empty queue starts again at slot 0 (the timer stays). */
  #advance (): void {
    const sessions = this.#sessions
    while (this.#head < this.#tail && sessions[this.#head] === null) this.#head++
    if (this.#head === this.#tail) {
      this.#base += this.#tail
      this.#head = 0
      this.#tail = 0
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#tail) {
      // Drop what was served once it is most of the queue: each entry is copied a bounded number of times.
      this.#sessions = sessions.slice(this.#head, this.#tail)
      this.#responseIds = this.#responseIds.slice(this.#head, this.#tail)
      this.#dueAt = this.#dueAt.slice(this.#head, this.#tail)
      this.#base += this.#head
      this.#tail -= this.#head
      this.#head = 0
    }
  }

  #reset (): void {
    this.#base += this.#tail
    this.#sessions = []
    this.#responseIds = []
    this.#dueAt = []
    this.#head = 0
    this.#tail = 0
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
    while (this.#head < this.#tail && (this.#dueAt[this.#head] as number) <= now) {
      const at = this.#head
      const session = this.#sessions[at] as Session | null
      const responseId = this.#responseIds[at] as string
      this.#sessions[at] = null
      this.#responseIds[at] = ''
      this.#head++
      if (session !== null) this.#expire(session, responseId, this.#delayMs)
    }
    this.#advance()
    if (this.#head < this.#tail && this.#timer === undefined) this.#arm()
  }
}
