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
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number
}

/**
 * The embedded result store: insertion-ordered maps, evicting the oldest record beyond `maxRecords` and records
 * older than `ttlMs` on every write and read. No timer runs.
 */
export class InMemoryResultStore implements ResultStore {
  readonly #bySession = new Map<string, TaskRecord>()
  readonly #byTaskName = new Map<string, TaskRecord>()
  readonly #maxRecords: number
  readonly #ttlMs: number
  readonly #now: () => number

  constructor (options: InMemoryResultStoreOptions) {
    this.#maxRecords = options.maxRecords
    this.#ttlMs = options.ttlMs
    this.#now = options.now ?? Date.now
  }

  put (record: TaskRecord): void {
    this.#bySession.delete(record.sessionId)
    this.#bySession.set(record.sessionId, record)
    this.#byTaskName.delete(record.taskName)
    this.#byTaskName.set(record.taskName, record)
    this.#evict()
  }

  getBySession (sessionId: string): TaskRecord | undefined {
    this.#evict()
    return this.#bySession.get(sessionId)
  }

  getByTaskName (taskName: string): TaskRecord | undefined {
    this.#evict()
    return this.#byTaskName.get(taskName)
  }

  get size (): number {
    return this.#bySession.size
  }

  /** Entries of the task-name index (at most the number of records). */
  get taskNameCount (): number {
    return this.#byTaskName.size
  }

  clear (): void {
    this.#bySession.clear()
    this.#byTaskName.clear()
  }

  #evict (): void {
    const oldest = this.#now() - this.#ttlMs
    for (const [sessionId, record] of this.#bySession) {
      if (this.#bySession.size <= this.#maxRecords && record.endedAt >= oldest) break
      this.#bySession.delete(sessionId)
      if (this.#byTaskName.get(record.taskName) === record) this.#byTaskName.delete(record.taskName)
    }
  }
}
