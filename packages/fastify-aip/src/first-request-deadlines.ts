import type { Socket } from 'node:net'
import { performance } from 'node:perf_hooks'

/** Arms a one-shot timer; returns the function that clears it. */
export type Schedule = (fn: () => void, ms: number) => () => void

/** The clock and timer of {@link FirstRequestDeadlines} (tests give a manual pair). */
export interface DeadlineClock {
  /** Milliseconds on a monotonic clock. Default `performance.now`. */
  readonly now: () => number
  /** Default: an unref'd `setTimeout`. */
  readonly schedule: Schedule
}

const realClock: DeadlineClock = {
  now: () => performance.now(),
  schedule: (fn, ms) => {
    const timer = setTimeout(fn, ms)
    timer.unref()
    return () => { clearTimeout(timer) }
  }
}

/** Where a socket's deadline is in the queue (set while it waits for its first request). */
const kTicket = Symbol('fastify-aip.firstRequestTicket')

type WaitingSocket = Socket & { [kTicket]?: number }

/**
 * The first-request deadlines of a server's new connections: each must send its first request (or upgrade) within
 * the same delay, so deadlines fall due in the order the connections came, and one timer, armed for the oldest,
 * serves them all (instead of a timer per connection). A connection whose request came, or that closed, is
 * released: its slot is emptied, so that the queue keeps no socket alive until its deadline.
 */
export class FirstRequestDeadlines {
  readonly #delayMs: number
  readonly #expire: (socket: Socket) => void
  readonly #clock: DeadlineClock
  /** Sockets in the order they came (`null` once released or served); `#head` is the oldest not yet due. */
  #queue: Array<WaitingSocket | null> = []
  #dueAt: number[] = []
  #head = 0
  /** Tickets handed out before `#queue[0]` (tickets are absolute: they survive the queue's compaction). */
  #base = 0
  #cancel: (() => void) | null = null

  /**
   * @param delayMs - how long a new connection may take to send its first request
   * @param expire - told when a connection that neither sent a request nor closed reaches its deadline
   * @param clock - the clock and timer (default: `performance.now`, an unref'd `setTimeout`)
   */
  constructor (delayMs: number, expire: (socket: Socket) => void, clock: DeadlineClock = realClock) {
    this.#delayMs = delayMs
    this.#expire = expire
    this.#clock = clock
  }

  /** Deadlines not yet due (released ones included until their turn or the next compaction). */
  get size (): number {
    return this.#queue.length - this.#head
  }

  /** Whether a timer is armed. */
  get armed (): boolean {
    return this.#cancel !== null
  }

  /** Starts the deadline of a new connection's socket. */
  add (socket: Socket): void {
    const waiting = socket as WaitingSocket
    waiting[kTicket] = this.#base + this.#queue.length
    this.#queue.push(waiting)
    this.#dueAt.push(this.#clock.now() + this.#delayMs)
    if (this.#cancel === null) this.#arm()
  }

  /**
   * Ends the deadline of `socket` (its first request came, or it closed). True when it was waiting; false when it
   * was not (no socket, never added, already released, or already expired).
   */
  release (socket: Socket | null | undefined): boolean {
    // A request may come with no socket at all (`@fastify/websocket`'s `injectWS` emits an upgrade without one).
    if (socket == null) return false
    const waiting = socket as WaitingSocket
    const ticket = waiting[kTicket]
    if (ticket === undefined || ticket < 0) return false
    // -1 rather than `delete`: the socket keeps its shape.
    waiting[kTicket] = -1
    const at = ticket - this.#base
    if (at < this.#head || at >= this.#queue.length) return false
    this.#queue[at] = null
    return true
  }

  /** Clears the timer and every deadline. */
  clear (): void {
    this.#cancel?.()
    this.#cancel = null
    for (let at = this.#head; at < this.#queue.length; at++) {
      const socket = this.#queue[at]
      if (socket != null) socket[kTicket] = -1
    }
    this.#base += this.#queue.length
    this.#queue = []
    this.#dueAt = []
    this.#head = 0
  }

  #arm (): void {
    const wait = Math.max(0, Math.ceil((this.#dueAt[this.#head] as number) - this.#clock.now()))
    this.#cancel = this.#clock.schedule(this.#fire, wait)
  }

  readonly #fire = (): void => {
    this.#cancel = null
    const now = this.#clock.now()
    const queue = this.#queue
    // Bounded: every pass moves the head on; sockets added by `expire` are due later.
    while (this.#head < queue.length && (this.#dueAt[this.#head] as number) <= now) {
      const socket = queue[this.#head]
      queue[this.#head] = null
      this.#head++
      if (socket != null) {
        socket[kTicket] = -1
        this.#expire(socket)
      }
    }
    // Released ones at the head need no timer of their own.
    while (this.#head < this.#queue.length && this.#queue[this.#head] === null) this.#head++
    if (this.#head >= this.#queue.length) {
      this.clear()
      return
    }
    // Drop what was served once it is most of the queue: each entry is copied a bounded number of times.
    if (this.#head >= 1024 && this.#head * 2 >= this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head)
      this.#dueAt = this.#dueAt.slice(this.#head)
      this.#base += this.#head
      this.#head = 0
    }
    this.#arm()
  }
}
