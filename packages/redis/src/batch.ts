/** What a batch needs of its connection: a way to write several commands in one system call. */
export interface WriteHolder {
  /** Holds the commands sent from now on; the returned function writes them together. */
  holdWrites: () => () => void
}

// One end-of-turn run for every batch of the process: the batches of one turn (appends, acknowledgements, results,
// lookups...) are flushed together, with each connection's writes held meanwhile, so that a turn's scripts reach
// Redis in one write per connection.
const queue: Array<() => void> = []
const held = new Map<WriteHolder, () => void>()
let scheduled = false

/** Runs `task` at the end of this turn of the event loop, with the other tasks of the turn (in order). */
export function atEndOfTurn (task: () => void): void {
  queue.push(task)
  if (scheduled) return
  scheduled = true
  setImmediate(runTurn)
}

function runTurn (): void {
  scheduled = false
  try {
    // Tasks may add tasks (an acknowledgement that feeds a batch): they run in this same turn.
    for (let i = 0; i < queue.length; i++) {
      try {
        (queue[i] as () => void)()
      } catch {
        // A task reports its own failures to its callers; one that throws must not stop the others.
      }
    }
  } finally {
    queue.length = 0
    for (const release of held.values()) release()
    held.clear()
  }
}

/** Holds the writes of `connection` until the end of the current turn's run. */
function hold (connection: WriteHolder): void {
  if (!held.has(connection)) held.set(connection, connection.holdWrites())
}

/**
 * Collects the calls made during one turn of the event loop and hands them over together, once, when the turn
 * ends: many appends, acknowledgements or writes become one Redis script call per turn instead of one per call.
 * Nothing waits longer than that turn, and nothing is kept once handed over, so nothing piles up while Redis is
 * away: the batch fails as a whole and each caller gets the error.
 */
export class TurnBatch<T> {
  readonly #connection: WriteHolder
  readonly #flush: (items: T[]) => void
  readonly #maxItems: number
  #items: T[] = []
  #scheduled = false

  /**
   * @param connection - whose writes are held while the turn's batches are sent
   * @param flush - sends one batch (called once per `maxItems` items of the turn, in the order they were added)
   * @param maxItems - most items handed to one `flush` call
   */
  constructor (connection: WriteHolder, flush: (items: T[]) => void, maxItems: number) {
    this.#connection = connection
    this.#flush = flush
    this.#maxItems = maxItems
  }

  /** Adds an item to this turn's batch. */
  add (item: T): void {
    this.#items.push(item)
    if (this.#scheduled) return
    this.#scheduled = true
    atEndOfTurn(() => { this.#run() })
  }

  #run (): void {
    this.#scheduled = false
    const items = this.#items
    this.#items = []
    hold(this.#connection)
    if (items.length <= this.#maxItems) {
      this.#flush(items)
      return
    }
    for (let i = 0; i < items.length; i += this.#maxItems) this.#flush(items.slice(i, i + this.#maxItems))
  }
}
