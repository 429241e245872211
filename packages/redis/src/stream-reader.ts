import type { RedisConnection } from './connection.js'
import { InvalidArgumentError } from './errors.js'
import { checkId, describe, optionCount, optionMs } from './keys.js'
import { silentLogger } from './logger.js'
import type { Logger } from './logger.js'
import { checkAddress, checkEntryId, compareEntryIds, streamName, toEntry } from './streams.js'
import type { DeliveryEntry, StreamAddress } from './types.js'

/** Handles one entry; the reader waits for it before handing over the next entry of the same stream. */
export type EntryHandler = (entry: DeliveryEntry, address: StreamAddress) => void | Promise<void>

/** Options of {@link RedisStreamReader}. */
export interface RedisStreamReaderOptions {
  /** This node's id: the reader listens to its doorbell. */
  nodeId: string
  /** Longest wait between two reads of every followed stream, in milliseconds. Default 1000. */
  pollIntervalMs?: number
  /** Most entries read per stream per round. Default 100. */
  batchSize?: number
  /** A pino-style logger. Default: silent. */
  logger?: Logger
  /**
   * Gets the notices published on this node's doorbell: messages that start with `\u0001` (SOH), handed over as they
   * are, that SOH removed, as they arrive (nothing is read or stored; one published while the subscriber is away is
   * lost). Default: dropped.
   */
  onNotice?: (notice: string) => void
}

/** Options of {@link RedisStreamReader.follow}. */
export interface FollowOptions {
  /** Hand over the entries after this id. Default `0-0`: every entry the stream holds. */
  afterId?: string
  /**
   * Read the stream's waiting entries at once (default `true`). `false` for a stream known to be empty: it is then
   * read when its doorbell rings, or at the next poll.
   */
  catchUp?: boolean
}

interface Follow {
  readonly address: StreamAddress
  readonly handler: EntryHandler
  /** The last entry handed over. */
  cursor: string
  /** The last entry handed over or waiting in `queue`: the stream holds nothing between `cursor` and it that is not. */
  tail: string
  /** Entries a doorbell carried, in stream order, to hand over after `cursor`. */
  queue: DeliveryEntry[]
  /** The handler's promise while it handles an entry (nothing else of this stream is handed over meanwhile). */
  pending: Promise<void> | undefined
}

/** Most streams named in one XREAD of a full read (a node following many streams reads them in slices). */
const MAX_KEYS_PER_READ = 1000

/**
 * Reads the delivery streams a node follows (its devices' and its own) and hands each entry to the stream's
 * handler, in stream order, one at a time per stream.
 *
 * - A doorbell carries the entries appended (with the id of the entry before them): the reader hands them over
 *   without reading the stream when it has handed over (or holds) everything up to that id; otherwise (a doorbell
 *   was lost or came late) it reads the stream from its cursor. Entries are handed over once: an id at or before
 *   the cursor is skipped, however it arrived.
 * - A doorbell too large to carry its entries names the streams that got entries: the reader reads those, and only
 *   those, in one XREAD (however many doorbells rang meanwhile: one read per round, not per entry).
 * - It reads every followed stream when the doorbell's subscription is confirmed (first, and after each
 *   reconnection of the subscriber), when the command connection becomes ready again (a reconnection re-reads
 *   from the cursor), and at the latest every `pollIntervalMs`: a doorbell lost (Redis blipped, or it rang another
 *   node) only delays delivery, by at most that interval.
 *
 * Entries are not acknowledged by the reader: the handler (or whoever knows the entry was delivered) calls
 * `RedisDeliveryLog.ack`.
 */
export class RedisStreamReader {
  readonly #redis: RedisConnection
  readonly #nodeId: string
  readonly #pollIntervalMs: number
  readonly #batchSize: number
  readonly #log: Logger
  readonly #streamKeys: string
  readonly #onNotice: ((notice: string) => void) | undefined
  readonly #follows = new Map<string, Follow>()
  /** Streams to read in the next round (their doorbell rang, or they were just followed). */
  readonly #dirty = new Set<string>()
  /** Streams with entries a doorbell carried, waiting to be handed over. */
  readonly #carried = new Set<string>()
  readonly #disposers: Array<() => void> = []
  /** Read every followed stream in the next round. */
  #full = false
  #lastFull = performance.now()
  #closed = false
  #woken = false
  #wakeUp: (() => void) | undefined
  readonly #loop: Promise<void>
  #reads = 0
  #rings = 0
  #notices = 0
  #carriedEntries = 0

  /**
   * Starts reading (nothing until the first `follow`).
   * @throws InvalidOptionError when an option is out of range
   */
  constructor (redis: RedisConnection, options: RedisStreamReaderOptions) {
    this.#redis = redis
    this.#nodeId = checkId('nodeId', options?.nodeId)
    this.#pollIntervalMs = optionMs('pollIntervalMs', options.pollIntervalMs, 1000)
    this.#batchSize = optionCount('batchSize', options.batchSize, 100)
    this.#log = options.logger ?? silentLogger
    this.#streamKeys = `${redis.keys.prefix}stream:`
    this.#onNotice = options.onNotice
    // Read everything again once the doorbell is (re)subscribed: whatever was appended before it could ring is
    // read then.
    this.#disposers.push(redis.subscribe(redis.keys.doorbell(this.#nodeId), (message) => { this.#ring(message) }, () => { this.#readAll() }))
    this.#disposers.push(redis.onStateChange(({ state }) => { if (state === 'ready') this.#readAll() }))
    this.#loop = this.#run()
  }

  /** XREAD calls made so far (for tests and metrics). */
  get reads (): number {
    return this.#reads
  }

  /** Doorbell messages received so far. */
  get rings (): number {
    return this.#rings
  }

  /** Notices received so far (doorbell messages that are not doorbells: not counted in {@link rings}). */
  get notices (): number {
    return this.#notices
  }

  /** Entries handed over as a doorbell carried them, without reading their stream (for tests and metrics). */
  get carried (): number {
    return this.#carriedEntries
  }

  /**
   * Hands every entry of the stream after `options.afterId` to `handler`, then every new one. Following a stream
   * already followed replaces its handler and cursor. Returns the function that stops following it.
   * @throws InvalidArgumentError, ClosedError
   */
  follow (address: StreamAddress, handler: EntryHandler, options: FollowOptions = {}): () => void {
    checkAddress(address)
    if (typeof handler !== 'function') throw new InvalidArgumentError('handler', 'a function', describe(handler))
    const cursor = checkEntryId('afterId', options.afterId ?? '0-0')
    const key = this.#redis.keys.stream(address.kind, address.id)
    const follow: Follow = { address: { kind: address.kind, id: address.id }, handler, cursor, tail: cursor, queue: [], pending: undefined }
    this.#follows.set(key, follow)
    if (options.catchUp !== false) {
      this.#dirty.add(key)
      this.#wake()
    } else if (this.#follows.size === 1) {
      // A reader that followed nothing starts polling.
      this.#wake()
    }
    return () => {
      if (this.#follows.get(key) === follow) this.#follows.delete(key)
    }
  }

  /** The id of the last entry handed over from a stream, or `undefined` when it is not followed. */
  cursor (address: StreamAddress): string | undefined {
    checkAddress(address)
    return this.#follows.get(this.#redis.keys.stream(address.kind, address.id))?.cursor
  }

  /** Stops reading, after the handler that runs (if any) returns. Idempotent. */
  async close (): Promise<void> {
    if (!this.#closed) {
      this.#closed = true
      for (const dispose of this.#disposers.splice(0)) dispose()
      this.#follows.clear()
      this.#wake()
    }
    await this.#loop
  }

  /** A doorbell: its entries are handed over, or the streams it names are read, in the next round. */
  #ring (message: string): void {
    if (message.charCodeAt(0) === 1) {
      this.#notices++
      try {
        this.#onNotice?.(message.slice(1))
      } catch (err) {
        this.#log.error({ err, nodeId: this.#nodeId }, 'notice handler threw')
      }
      return
    }
    this.#rings++
    if (message.charCodeAt(0) === 0) {
      this.#ringWithEntries(message)
      return
    }
    let marked = false
    for (const key of message.split(' ')) {
      if (this.#follows.has(key)) {
        this.#dirty.add(key)
        marked = true
      } else if (!key.startsWith(this.#streamKeys)) {
        // A doorbell that names no stream key (rung by another version): everything is read.
        this.#full = true
        marked = true
      }
    }
    if (marked) this.#wake()
  }

  /**
   * A doorbell carrying entries: NUL-separated, after a leading NUL, per stream its key, the id of the entry before
   * the ones carried (`''`: the stream was empty; `*`: none carried, read it), their count, then each entry's id and
   * payload.
   */
  #ringWithEntries (message: string): void {
    const parts = message.split('\0')
    let marked = false
    let i = 1
    while (i + 2 < parts.length) {
      const key = parts[i] as string
      const prev = parts[i + 1] as string
      const count = Number(parts[i + 2])
      i += 3
      const end = i + 2 * count
      if (!Number.isSafeInteger(count) || count < 0 || end > parts.length) {
        // Not a doorbell of this version: read everything.
        this.#full = true
        marked = true
        break
      }
      const follow = this.#follows.get(key)
      if (follow !== undefined) {
        if (prev === '*' || (prev !== '' && compareEntryIds(prev, follow.tail) > 0)) {
          // An entry between what this reader holds and the ones carried came without its doorbell (yet): read.
          this.#dirty.add(key)
          marked = true
        } else {
          for (; i < end; i += 2) {
            const id = parts[i] as string
            if (compareEntryIds(id, follow.tail) <= 0) continue
            follow.queue.push({ id, payload: parts[i + 1] as string })
            follow.tail = id
          }
          // Handed over here and now when nothing of the stream is being handled: no wake-up of the reading loop.
          if (follow.pending === undefined) this.#handOverQueue(key, follow)
          if (follow.queue.length > 0) {
            this.#carried.add(key)
            marked = true
          }
        }
      }
      i = end
    }
    if (marked) this.#wake()
  }

  /**
   * Hands over the entries a doorbell carried for one stream, in order, until a handler returns a promise (the rest
   * waits for it, in the reading loop).
   */
  #handOverQueue (key: string, follow: Follow): void {
    while (follow.queue.length > 0 && follow.pending === undefined && !this.#closed && this.#follows.get(key) === follow) {
      const entry = follow.queue.shift() as DeliveryEntry
      if (compareEntryIds(entry.id, follow.cursor) <= 0) continue
      this.#carriedEntries++
      this.#handOver(follow, entry)
    }
  }

  #readAll (): void {
    this.#full = true
    this.#wake()
  }

  #wake (): void {
    this.#woken = true
    this.#wakeUp?.()
  }

  /** Waits for a wake-up or `ms` (forever when `undefined`); returns at once if woken since the last wait. */
  async #sleep (ms: number | undefined): Promise<void> {
    if (!this.#woken) {
      await new Promise<void>((resolve) => {
        const timer = ms === undefined ? undefined : setTimeout(() => { this.#wakeUp = undefined; resolve() }, ms)
        this.#wakeUp = () => {
          clearTimeout(timer)
          this.#wakeUp = undefined
          resolve()
        }
      })
    }
    this.#woken = false
  }

  async #run (): Promise<void> {
    while (!this.#closed) {
      if (this.#follows.size === 0) {
        await this.#sleep(undefined)
        continue
      }
      if (this.#carried.size > 0) {
        await this.#handOverCarried()
        continue
      }
      if (!this.#full && this.#dirty.size === 0) {
        const wait = this.#lastFull + this.#pollIntervalMs - performance.now()
        if (wait > 0) {
          await this.#sleep(wait)
          continue
        }
        this.#full = true
      }
      const full = this.#full
      const keys = full ? [...this.#follows.keys()] : [...this.#dirty].filter((key) => this.#follows.has(key))
      this.#full = false
      this.#dirty.clear()
      if (full) this.#lastFull = performance.now()
      try {
        for (let i = 0; i < keys.length && !this.#closed; i += MAX_KEYS_PER_READ) await this.#readOnce(keys.slice(i, i + MAX_KEYS_PER_READ))
      } catch (err) {
        this.#log.warn({ err, nodeId: this.#nodeId }, 'redis stream read failed; retrying')
        // Read again at the next wake-up (the connection ready again, a doorbell) or poll.
        this.#full = true
        this.#lastFull = performance.now()
        this.#woken = false
        await this.#sleep(this.#pollIntervalMs)
      }
    }
  }

  /** Hands over the entries doorbells carried, stream by stream, each after the last one handed over. */
  async #handOverCarried (): Promise<void> {
    const keys = [...this.#carried]
    this.#carried.clear()
    for (const key of keys) {
      const follow = this.#follows.get(key)
      if (follow === undefined) continue
      while (follow.queue.length > 0 && this.#follows.get(key) === follow) {
        if (this.#closed) return
        if (follow.pending !== undefined) {
          await follow.pending
          continue
        }
        const entry = follow.queue.shift() as DeliveryEntry
        if (compareEntryIds(entry.id, follow.cursor) <= 0) continue
        this.#carriedEntries++
        const pending = this.#handOver(follow, entry)
        if (pending !== undefined) await pending
      }
    }
  }

  /**
   * Hands an entry to its stream's handler. A handler that finishes synchronously costs no promise: the returned
   * promise (to wait for before the stream's next entry) is there only when the handler returned one.
   */
  #handOver (follow: Follow, entry: DeliveryEntry): Promise<void> | undefined {
    follow.cursor = entry.id
    if (compareEntryIds(entry.id, follow.tail) > 0) follow.tail = entry.id
    let result: void | Promise<void>
    try {
      result = follow.handler(entry, follow.address)
    } catch (err) {
      this.#handlerThrew(follow, entry, err)
      return undefined
    }
    if (result === undefined || typeof (result as { then?: unknown }).then !== 'function') return undefined
    const pending = (result as Promise<void>).then(undefined, (err: unknown) => { this.#handlerThrew(follow, entry, err) }).then(() => {
      follow.pending = undefined
    })
    follow.pending = pending
    return pending
  }

  #handlerThrew (follow: Follow, entry: DeliveryEntry, err: unknown): void {
    this.#log.error({ err, stream: streamName(follow.address), entryId: entry.id }, 'stream entry handler threw')
  }

  async #readOnce (slice: string[]): Promise<void> {
    // A stream may have been unfollowed while an earlier slice's handlers ran.
    const keys = slice.filter((key) => this.#follows.has(key))
    if (keys.length === 0) return
    const cursors = keys.map((key) => (this.#follows.get(key) as Follow).cursor)
    this.#reads++
    const reply = await this.#redis.run('stream.follow', async (client) => await client.xread('COUNT', this.#batchSize, 'STREAMS', ...keys, ...cursors))
    for (const [key, entries] of reply ?? []) {
      const follow = this.#follows.get(key)
      // A full batch: there may be more; the stream is read again in the next round.
      if (entries.length >= this.#batchSize) this.#dirty.add(key)
      for (const raw of entries) {
        if (this.#closed || follow === undefined || this.#follows.get(key) !== follow) break
        // A doorbell's entry handed over while the read was on its way may still be handled.
        if (follow.pending !== undefined) await follow.pending
        if (this.#closed || this.#follows.get(key) !== follow) break
        const entry = toEntry(raw)
        // Handed over already (a doorbell carried it while the read was on its way).
        if (compareEntryIds(entry.id, follow.cursor) <= 0) continue
        const pending = this.#handOver(follow, entry)
        if (pending !== undefined) await pending
      }
    }
  }
}
