/** One job of the inbox: a frame to handle, or the close. Synchronous work returns nothing. */
export type InboxJob = () => Promise<void> | undefined

/** The method of an {@link Inbox} that queues a job (internal to this package). */
export const enqueueJob: unique symbol = Symbol('aip.inbox.enqueue')
/** The method of an {@link Inbox} told when a job throws or rejects (internal to this package). */
export const jobFailed: unique symbol = Symbol('aip.inbox.jobFailed')

/** The method of an {@link Inbox} that counts (and, with a clock, times) a frame's arrival (internal). */
export const countFrame: unique symbol = Symbol('aip.inbox.countFrame')

/**
 * The ordered inbox of one connection: jobs run one after another, in arrival order. A synchronous job runs at
 * once when the inbox is idle (no promise, no microtask); an asynchronous one holds the inbox until it settles.
 * An idle inbox holds no array. A base class (of {@link AIPProtocol}) rather than an object of its own: a server
 * holds one per connection.
 */
export abstract class Inbox {
  #jobs: InboxJob[] | null = null
  #draining = false
  #framesReceived = 0
  #lastFrameAt: number | undefined = undefined

  /** Frames received from the peer since the start, counted on arrival (dropped and invalid ones included). */
  get framesReceived (): number {
    return this.#framesReceived
  }

  /**
   * When the last frame arrived, read from the protocol's `clock` option (`undefined` without one, or before any
   * frame): an owner tracks its peer's activity with it, without a listener per connection.
   */
  get lastFrameAt (): number | undefined {
    return this.#lastFrameAt
  }

  /** Counts a frame on its arrival and, with `clock`, records when it arrived. */
  protected [countFrame] (clock: (() => number) | undefined): void {
    this.#framesReceived++
    if (clock !== undefined) this.#lastFrameAt = clock()
  }

  /** Jobs waiting, the one running included. */
  protected get inboxLength (): number {
    return this.#jobs === null ? 0 : this.#jobs.length
  }

  /** Told when a job throws or rejects; the inbox goes on. */
  protected abstract [jobFailed] (err: unknown, what: string): void

  /** Runs `job` after every job queued before it. */
  protected [enqueueJob] (job: InboxJob): void {
    if (this.#jobs === null) this.#jobs = [job]
    else this.#jobs.push(job)
    if (!this.#draining) this.#drain()
  }

  #drain (): void {
    this.#draining = true
    while (this.#jobs !== null) {
      const job = this.#jobs[0] as InboxJob
      let pending: Promise<void> | undefined
      try {
        pending = job()
      } catch (error) {
        this[jobFailed](error, 'inbox job threw')
      }
      if (pending !== undefined) {
        // One reaction for both outcomes (no `catch` + `finally` pair: two more promises per asynchronous job).
        pending.then(() => { this.#next() }, (error: unknown) => {
          try {
            this[jobFailed](error, 'inbox job failed')
          } finally {
            this.#next()
          }
        })
        return
      }
      this.#shift()
    }
    this.#draining = false
  }

  /** The asynchronous job at the head has settled: the next ones run. */
  #next (): void {
    this.#shift()
    this.#drain()
  }

  #shift (): void {
    const jobs = this.#jobs as InboxJob[]
    if (jobs.length === 1) this.#jobs = null
    else jobs.shift()
  }
}

/**
 * Runs `handlers` on `incoming` one after another from `from`: synchronously while they return nothing, awaiting
 * the first that returns a promise and going on after it. A throw or rejection goes to `onError`, and the next
 * handler still runs (`onError` gets `owner` first: a function shared by every owner needs no closure).
 */
export function runHandlers<M, Owner> (
  handlers: ReadonlyArray<(message: M) => void | Promise<void>>, from: number, incoming: M, owner: Owner,
  onError: (owner: Owner, error: unknown, message: M) => void
): Promise<void> | undefined {
  for (let i = from; i < handlers.length; i++) {
    let result: void | Promise<void>
    try {
      result = (handlers[i] as (message: M) => void | Promise<void>)(incoming)
    } catch (error) {
      onError(owner, error, incoming)
      continue
    }
    if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
      return (result as Promise<void>).then(
        () => runHandlers(handlers, i + 1, incoming, owner, onError),
        (error: unknown) => {
          onError(owner, error, incoming)
          return runHandlers(handlers, i + 1, incoming, owner, onError)
        }
      )
    }
  }
  return undefined
}
