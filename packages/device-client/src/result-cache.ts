import type { DecodedClientMessage } from '@aip/protocol'

/** Options of {@link ResultCache}. */
export interface ResultCacheOptions {
  /** Most entries kept; the oldest is dropped beyond it. */
  readonly maxEntries: number
  /** The client's clock (ms). */
  readonly now: () => number
}

interface CachedResults {
  readonly message: DecodedClientMessage
  readonly sessionId: string | null
  readonly storedAt: number
}

/**
 * The COMMAND_RESULTS a device produced, by the `response_id` of the COMMAND they answer, so that a COMMAND the
 * server sends again after a resume is answered from here instead of being run twice. Bounded by count
 * (`maxEntries`, oldest first) and by age (`maxAgeMs`, set from the granted resume window: 0 keeps nothing);
 * the entries of a session are dropped at its TASK_END. No timer: expired entries are dropped on each use.
 */
export class ResultCache {
  readonly #options: ResultCacheOptions
  /** In insertion order, which is also the order of `storedAt`. */
  readonly #entries = new Map<string, CachedResults>()
  #maxAgeMs = 0

  constructor (options: ResultCacheOptions) {
    this.#options = options
  }

  /** Entries kept now (expired ones included until the next use). */
  get size (): number {
    return this.#entries.size
  }

  /** How long an entry is kept (ms); 0 keeps nothing. */
  get maxAgeMs (): number {
    return this.#maxAgeMs
  }

  /** Sets how long entries are kept (twice the granted resume window); 0 empties the cache and keeps nothing. */
  setMaxAge (ms: number): void {
    this.#maxAgeMs = Math.max(0, ms)
    this.#prune()
  }

  /** Keeps the results answering the COMMAND `responseId` (nothing while the age bound is 0). */
  put (responseId: string, message: DecodedClientMessage): void {
    if (this.#maxAgeMs === 0) return
    this.#entries.delete(responseId)
    this.#entries.set(responseId, { message, sessionId: message.session_id, storedAt: this.#options.now() })
    while (this.#entries.size > this.#options.maxEntries) {
      const oldest = this.#entries.keys().next().value as string
      this.#entries.delete(oldest)
    }
    this.#prune()
  }

  /** The results answering the COMMAND `responseId`, if they are still kept. */
  get (responseId: string): DecodedClientMessage | undefined {
    this.#prune()
    return this.#entries.get(responseId)?.message
  }

  /** Drops the entries of a session that ended (TASK_END). */
  endSession (sessionId: string | null): void {
    for (const [responseId, entry] of this.#entries) {
      if (entry.sessionId === sessionId) this.#entries.delete(responseId)
    }
  }

  /** Drops everything (the client stops). */
  clear (): void {
    this.#entries.clear()
  }

  #prune (): void {
    const oldest = this.#options.now() - this.#maxAgeMs
    for (const [responseId, entry] of this.#entries) {
      if (entry.storedAt > oldest && this.#maxAgeMs > 0) return
      this.#entries.delete(responseId)
    }
  }
}
