import type { DecodedClientMessage } from '@aip/protocol'

/** One COMMAND_RESULTS waiting for a connection. */
export interface OutboxEntry {
  readonly message: DecodedClientMessage
  readonly sessionId: string | null
  /** When it was queued (ms, from the client's clock). */
  readonly queuedAt: number
}

/** Why queued results were dropped. */
export type DropReason = 'overflow' | 'expired' | 'session_ended' | 'stopped'

/** Options of {@link Outbox}. */
export interface OutboxOptions {
  /** Most results kept; the oldest is dropped beyond it. */
  maxEntries: number
  /** Results older than this are dropped instead of delivered. */
  maxAgeMs: number
  now: () => number
  /** Called for every dropped entry. */
  onDrop: (entry: OutboxEntry, reason: DropReason) => void
}

/**
 * COMMAND_RESULTS produced while the connection was down, kept in order until the next registration. Bounded
 * by count and by age; the results of a session that ended (TASK_END) are dropped.
 */
export class Outbox {
  readonly #options: OutboxOptions
  #entries: OutboxEntry[] = []

  constructor (options: OutboxOptions) {
    this.#options = options
  }

  get size (): number {
    return this.#entries.length
  }

  /** Queues a message; drops the oldest when full. */
  push (message: DecodedClientMessage): void {
    this.#entries.push({ message, sessionId: message.session_id, queuedAt: this.#options.now() })
    while (this.#entries.length > this.#options.maxEntries) this.#drop(this.#entries.shift(), 'overflow')
  }

  /** Puts entries back at the front, in order (a delivery that failed part-way). */
  requeue (entries: readonly OutboxEntry[]): void {
    this.#entries = [...entries, ...this.#entries]
    while (this.#entries.length > this.#options.maxEntries) this.#drop(this.#entries.shift(), 'overflow')
  }

  /** Drops every entry of a session that ended. */
  endSession (sessionId: string | null): void {
    this.#entries = this.#entries.filter((entry) => {
      if (entry.sessionId !== sessionId) return true
      this.#drop(entry, 'session_ended')
      return false
    })
  }

  /** Takes every entry still young enough to deliver, in order; drops the expired ones. */
  take (): OutboxEntry[] {
    const now = this.#options.now()
    const entries = this.#entries
    this.#entries = []
    return entries.filter((entry) => {
      if (now - entry.queuedAt <= this.#options.maxAgeMs) return true
      this.#drop(entry, 'expired')
      return false
    })
  }

  /** Drops everything (the client stops). */
  clear (): void {
    const entries = this.#entries
    this.#entries = []
    for (const entry of entries) this.#drop(entry, 'stopped')
  }

  #drop (entry: OutboxEntry | undefined, reason: DropReason): void {
    if (entry !== undefined) this.#options.onDrop(entry, reason)
  }
}
