/** The outcome of a task, kept for a bounded time after its TASK_END. */
export interface TaskRecord {
  readonly sessionId: string
  /** The sanitised task name. */
  readonly taskName: string
  readonly requesterId: string
  readonly deviceId: string
  readonly request: string
  readonly status: 'completed' | 'failed'
  readonly error: string | null
  /** The `result` sent in TASK_END. */
  readonly result: unknown
  /** Milliseconds since the epoch. */
  readonly startedAt: number
  readonly endedAt: number
  /** Approximate memory the record holds, in bytes (its TASK_END frame and request as text). */
  readonly sizeBytes: number
}

/**
 * Where finished tasks are kept. Implementations must bound what they hold (count and age).
 */
export interface ResultStore {
  put: (record: TaskRecord) => void
  getBySession: (sessionId: string) => TaskRecord | undefined
  /** The latest task of that (sanitised) name. */
  getByTaskName: (taskName: string) => TaskRecord | undefined
  readonly size: number
  clear: () => void
}

/** Options of {@link InMemoryResultStore}. */
export interface InMemoryResultStoreOptions {
  /** Most records kept; the oldest go first. */
  maxRecords: number
  /** Records older than this are dropped. */
  ttlMs: number
  /** The records' `sizeBytes` added up stay at most this; the oldest go first. Default: no limit. */
  maxBytes?: number
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number
}

/**
 * The embedded result store: one map by session, plus a queue in insertion order from which the oldest records are
 * evicted (beyond `maxRecords` or `maxBytes`, or older than `ttlMs`) on every write, on `size` and on every read
 * that finds a record, in amortised constant time. No timer runs. A task name is looked up by walking the queue from the newest record (a read of the HTTP
 * API, rare), so a task costs one map entry, not two.
 */
export class InMemoryResultStore implements ResultStore {
  readonly #bySession = new Map<string, TaskRecord>()
  /**
   * Records in insertion order; entries replaced by a later `put` of the same session are skipped. A slot is
   * emptied as the head passes it, so that an evicted record is not kept alive until the next compaction.
   */
  #queue: Array<TaskRecord | undefined> = []
  #head = 0
  readonly #maxRecords: number
  readonly #ttlMs: number
  readonly #maxBytes: number
  #bytes = 0
  readonly #now: () => number

  constructor (options: InMemoryResultStoreOptions) {
    this.#maxRecords = options.maxRecords
    this.#ttlMs = options.ttlMs
    this.#maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY
    this.#now = options.now ?? Date.now
  }

  put (record: TaskRecord): void {
    const replaced = this.#bySession.get(record.sessionId)
    if (replaced !== undefined) this.#bytes -= replaced.sizeBytes
    this.#bytes += record.sizeBytes
    this.#bySession.set(record.sessionId, record)
    this.#queue.push(record)
    this.#evict()
  }

  getBySession (sessionId: string): TaskRecord | undefined {
    // Asked for every new TASK, whose session id is usually unknown here: nothing to evict for a miss (`put` bounds
    // the count and the bytes; age is checked on the record found).
    const record = this.#bySession.get(sessionId)
    if (record === undefined) return undefined
    this.#evict()
    return this.#bySession.get(sessionId)
  }

  getByTaskName (taskName: string): TaskRecord | undefined {
    this.#evict()
    // Newest first: the latest live record of that name. The queue holds at most the live records plus those
    // replaced since its last compaction.
    for (let i = this.#queue.length - 1; i >= this.#head; i--) {
      const record = this.#queue[i] as TaskRecord
      if (record.taskName === taskName && this.#bySession.get(record.sessionId) === record) return record
    }
    return undefined
  }

  get size (): number {
    this.#evict()
    return this.#bySession.size
  }

  /** The records' `sizeBytes`, added up. */
  get bytes (): number {
    return this.#bytes
  }

  clear (): void {
    this.#bySession.clear()
    this.#queue = []
    this.#head = 0
    this.#bytes = 0
  }

  #evict (): void {
    const oldest = this.#now() - this.#ttlMs
    while (this.#head < this.#queue.length) {
      const record = this.#queue[this.#head] as TaskRecord
      const live = this.#bySession.get(record.sessionId) === record
      if (live && this.#bySession.size <= this.#maxRecords && this.#bytes <= this.#maxBytes && record.endedAt >= oldest) break
      this.#queue[this.#head] = undefined
      this.#head++
      if (!live) continue
      this.#bytes -= record.sizeBytes
      this.#bySession.delete(record.sessionId)
    }
    // Drop the consumed head of the queue once it is the larger part.
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head)
      this.#head = 0
    }
  }
}
