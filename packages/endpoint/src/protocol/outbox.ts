import { Inbox } from './inbox.js'

/** The method of an {@link Outbox} that queues a write (internal to this package). */
export const queueWrite: unique symbol = Symbol('aip.outbox.write')

/**
 * The ordered outbox of one connection: writes run one after another, in call order. An idle outbox holds no
 * promise. A base class (of `AIPProtocol`, above its {@link Inbox}) rather than an object of its own: a server
 * holds one per connection.
 */
export abstract class Outbox extends Inbox {
  /** The tail of the writes in flight; `undefined` when none is. */
  #tail: Promise<void> | undefined = undefined
  /** Writes queued and not finished. */
  #writing = 0

  /** True while a write queued with {@link queueWrite} has not finished (a direct write would overtake it). */
  protected get writesInFlight (): boolean {
    return this.#writing > 0
  }

  /** Runs `job` after every write queued before it: sends leave in call order. */
  protected [queueWrite] (job: () => Promise<void>): Promise<void> {
    this.#writing++
    const run = (this.#tail ?? Promise.resolve()).then(job)
    const done = (): void => {
      // The last write in flight is done: nothing to chain on any more.
      if (--this.#writing === 0) this.#tail = undefined
    }
    this.#tail = run.then(done, done)
    return run
  }
}
