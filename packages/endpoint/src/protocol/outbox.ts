import { Inbox } from './inbox.js'

/** The method of an {@link Outbox} that queues a write (internal to this package). */
export const queueWrite: unique symbol = Symbol('aip.outbox.write')

/**
 * The ordered outbox of one connection: writes run one after another, in call order. An idle outbox holds no
 * promise. A base class (of `AIPProtocol`, above its {@link Inbox}) rather than an object of its own: a server
 * holds one per connection.
 */
export abstract class Outbox extends Inbox {
  /** The tail of the writes in flight; `undefined` when none is (the last one clears it once done). */
  #tail: Promise<void> | undefined = undefined

  /** True while a write queued with {@link queueWrite} has not finished (a direct write would overtake it). */
  protected get writesInFlight (): boolean {
    return this.#tail !== undefined
  }

  /** Runs `job` after every write queued before it: sends leave in call order. */
  protected [queueWrite] (job: () => Promise<void>): Promise<void> {
    const run = (this.#tail ?? Promise.resolve()).then(job)
    const done = (): void => {
      // The last write in flight is done (no later one chained on it): nothing to chain on any more.
      if (this.#tail === tail) this.#tail = undefined
    }
    const tail = run.then(done, done)
    this.#tail = tail
    return run
  }
}
