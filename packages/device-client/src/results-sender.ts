import type { AIPProtocol } from '@aip/endpoint'
import type { DecodedClientMessage } from '@aip/protocol'
import type { Logger } from '@aip/resilience'
import { Outbox, type DropReason, type OutboxEntry } from './outbox.js'

/** What a {@link ResultsSender} needs from its client. */
export interface ResultsSenderOptions {
  /** Most results kept while disconnected; the oldest is dropped beyond it. */
  readonly maxEntries: number
  /** Kept results older than this are dropped instead of delivered. */
  readonly maxAgeMs: number
  readonly now: () => number
  readonly log: Logger
  /** The registered connection's protocol, or `undefined` while there is none. */
  readonly connection: () => AIPProtocol<'client'> | undefined
  /** A kept result was written (`queuedMs` > 0 when it waited for a reconnection). */
  readonly onSent: (entry: OutboxEntry, queuedMs: number) => void
  /** A kept result was dropped without being sent. */
  readonly onDropped: (entry: OutboxEntry, reason: DropReason) => void
}

/**
 * Delivers COMMAND_RESULTS in order: sent at once while registered, kept in a bounded outbox while not, and
 * flushed at the next registration. A send that fails part-way puts the rest back for the next connection.
 */
export class ResultsSender {
  readonly #options: ResultsSenderOptions
  readonly #outbox: Outbox
  #flushing = false

  constructor (options: ResultsSenderOptions) {
    this.#options = options
    this.#outbox = new Outbox({
      maxEntries: Math.max(1, options.maxEntries),
      maxAgeMs: options.maxAgeMs,
      now: options.now,
      onDrop: (entry, reason) => {
        options.log.warn({ sessionId: entry.sessionId, reason }, 'kept results dropped')
        options.onDropped(entry, reason)
      }
    })
  }

  /** Results waiting for a connection. */
  get size (): number {
    return this.#outbox.size
  }

  /** Queues results and sends what can be sent now. */
  async send (message: DecodedClientMessage): Promise<void> {
    this.#outbox.push(message)
    await this.flush()
  }

  /** Sends the kept results in order while registered; what cannot be sent waits for the next registration. */
  async flush (): Promise<void> {
    if (this.#flushing) return
    this.#flushing = true
    try {
      while (this.#outbox.size > 0) {
        const protocol = this.#options.connection()
        if (protocol === undefined) return
        const entries = this.#outbox.take()
        for (let i = 0; i < entries.length; i++) {
          const entry = entries[i] as OutboxEntry
          try {
            await protocol.send(entry.message)
          } catch (err) {
            this.#options.log.debug({ err, sessionId: entry.sessionId }, 'results kept for the next connection')
            this.#outbox.requeue(entries.slice(i))
            return
          }
          this.#options.onSent(entry, Math.max(0, this.#options.now() - entry.queuedAt))
        }
      }
    } finally {
      this.#flushing = false
    }
  }

  /** Drops the kept results of a session that ended. */
  endSession (sessionId: string | null): void {
    this.#outbox.endSession(sessionId)
  }

  /** Drops every kept result (the client stops). */
  clear (): void {
    this.#outbox.clear()
  }
}
