/** Arms a one-shot timer; returns the function that clears it. */
export type Schedule = (fn: () => void, ms: number) => () => void

/** The clock and timer of a {@link DeadlineQueue} (tests may give a manual pair). */
export interface DeadlineClock {
  /** Milliseconds on a monotonic clock. Default `performance.now()`. */
  readonly now: () => number
  /** Arms a one-shot timer. Default: an unref'd `setTimeout`. */
  readonly schedule: Schedule
}

/** The `#cancel` of a queue whose timer is not armed. */
const disarmed = (): void => {}

// The globals are read at each call, so that fake timers installed after this module loaded are used.
const realClock: DeadlineClock = {
  now: () => performance.now(),
  schedule: (fn, ms) => {
    const timer = setTimeout(fn, ms)
    timer.unref()
    return () => { clearTimeout(timer) }
  }
}

/**
 * Deadlines of one delay for many items, served by one timer. Every item added gets the same delay, so deadlines
 * fall due in the order the items came: one timer, armed for the oldest, serves them all, instead of a timer (and
 * a closure) per item. An item whose wait ended (a connection that sent its first request, registered, or closed)
 * is released by the ticket {@link add} returned: its slot is emptied at once, so the queue keeps nothing alive
 * until its deadline, and it is skipped when its turn comes. The timer is unref'd: it never keeps a process alive.
 *
 * @example
 * ```ts
 * const deadlines = new DeadlineQueue<Socket>(10_000, (socket) => socket.destroy())
 * const ticket = deadlines.add(socket)      // on connect
 * deadlines.release(ticket)                 // once it sent its first request, or closed
 * ```
 */
export class DeadlineQueue<T> {
  readonly #delayMs: number
  readonly #expire: (item: T) => void
  readonly #clock: DeadlineClock
  // The fields below change as the queue runs. Each is written in the constructor, not by an initialiser: V8 takes a
  // field that was only ever initialised for a constant, and the first later write (the first timer turn, the first
  // reset) would throw away the compiled code of `add`, `release` and their callers long after the server started.
  /** Items in the order they came (`null` once released or due); `#head` is the oldest not yet due. */
  readonly #queue: Array<T | null>
  readonly #dueAt: number[]
  #head: number
  /** Tickets handed out before `#queue[0]` (tickets are absolute: they survive the queue's compaction). */
  #base: number
  /** Clears the armed timer; {@link disarmed} while none is armed. */
  #cancel: () => void
  /** Set while the timer's turn runs: items added by `expire` are armed for at its end, once. */
  #firing: boolean

  /**
   * @param delayMs - the deadline of every item, from when it is added
   * @param expire - told, in order, of each item that reaches its deadline without being released
   * @param clock - the clock and timer (default: `performance.now()`, an unref'd `setTimeout`)
   */
  constructor (delayMs: number, expire: (item: T) => void, clock: DeadlineClock = realClock) {
    this.#delayMs = delayMs
    this.#expire = expire
    this.#clock = clock
    this.#queue = []
    this.#dueAt = []
    this.#head = 0
    this.#base = 0
    this.#cancel = disarmed
    this.#firing = false
  }

  /** Deadlines not yet due (released ones included until their turn or the next compaction). */
  get size (): number {
    return this.#queue.length - this.#head
  }

  /** Whether the timer is armed. */
  get armed (): boolean {
    return this.#cancel !== disarmed
  }

  /** Starts the deadline of `item`; returns its ticket (a number ≥ 0), for {@link release}. */
  add (item: T): number {
    this.#queue.push(item)
    this.#dueAt.push(this.#clock.now() + this.#delayMs)
    if (this.#cancel === disarmed && !this.#firing) this.#arm()
    return this.#base + this.#queue.length - 1
  }

  /**
   * Ends the deadline of the item of `ticket`. True when it was waiting; false when it was not (a negative ticket,
   * one already released, due, or cleared).
   */
  release (ticket: number): boolean {
    const at = ticket - this.#base
    if (at < this.#head || at >= this.#queue.length || this.#queue[at] === null) return false
    this.#queue[at] = null
    return true
  }

  /** Clears the timer and every deadline; tickets handed out before are released. */
  clear (): void {
    this.#cancel()
    this.#cancel = disarmed
    this.#base += this.#queue.length
    // Emptied in place: the arrays stay the same objects for the queue's whole life.
    this.#queue.length = 0
    this.#dueAt.length = 0
    this.#head = 0
  }

  #arm (): void {
    const wait = Math.max(0, Math.ceil((this.#dueAt[this.#head] as number) - this.#clock.now()))
    this.#cancel = this.#clock.schedule(this.#fire, wait)
  }

  readonly #fire = (): void => {
    this.#cancel = disarmed
    this.#firing = true
    try {
      const now = this.#clock.now()
      const queue = this.#queue
      // Bounded: every pass moves the head on; items added by `expire` are due later.
      while (this.#head < queue.length && (this.#dueAt[this.#head] as number) <= now) {
        const item = queue[this.#head] as T | null
        queue[this.#head] = null
        this.#head++
        if (item === null) continue
        const base = this.#base
        this.#expire(item)
        // `expire` cleared the queue (which moves `#base` on: it held this item): what it holds now is due later.
        if (this.#base !== base) break
      }
    } finally {
      this.#firing = false
      this.#settle()
    }
  }

  /** After a turn of the timer: skips released items at the head, compacts, and arms for the oldest waiting. */
  #settle (): void {
    const queue = this.#queue
    // Released ones at the head need no timer of their own.
    while (this.#head < queue.length && queue[this.#head] === null) this.#head++
    if (this.#head >= queue.length) {
      this.clear()
      return
    }
    // Drop what was served once it is most of the queue: each entry is copied a bounded number of times.
    if (this.#head >= 1024 && this.#head * 2 >= queue.length) {
      const head = this.#head
      const dueAt = this.#dueAt
      queue.copyWithin(0, head)
      queue.length -= head
      dueAt.copyWithin(0, head)
      dueAt.length -= head
      this.#base += head
      this.#head = 0
    }
    this.#arm()
  }
}
