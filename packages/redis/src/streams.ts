import type { RedisConnection } from './connection.js'
import { FencedError, InvalidArgumentError, StreamFullError } from './errors.js'
import type { LeaseLossReason } from './errors.js'
import { checkId, describe, optionCount, optionMs } from './keys.js'
import { silentLogger } from './logger.js'
import type { Logger } from './logger.js'
import { LUA_FENCE, LuaScript } from './script.js'
import type { AppendOptions, DeliveryEntry, DeliveryLog, LeaseFence, StreamAddress } from './types.js'

/** Options of {@link RedisDeliveryLog}. */
export interface RedisDeliveryLogOptions {
  /** Most unacknowledged entries a stream holds; an append beyond fails with {@link StreamFullError}. Default 10000. */
  maxStreamLength?: number
  /**
   * A stream nobody appends to or acknowledges for this long is deleted (entries and all), in milliseconds.
   * Default 1 hour.
   */
  streamTtlMs?: number
  /** Largest payload accepted, in bytes. Default 1 MiB. */
  maxPayloadBytes?: number
}

// KEYS: stream [, lease, epoch]. ARGV: payload, max length, ttl ms, doorbell channel or '', epoch, token, stream name.
const APPEND = new LuaScript(`${LUA_FENCE}
if #KEYS == 3 then
  local lost = fence(KEYS[2], KEYS[3], ARGV[5], ARGV[6])
  if lost then return {0, lost} end
end
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[2]) then return {0, 'full'} end
local id = redis.call('XADD', KEYS[1], '*', 'p', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if ARGV[4] ~= '' then redis.call('PUBLISH', ARGV[4], ARGV[7]) end
return {1, id}
`)

// KEYS: stream [, lease, epoch]. ARGV: min id kept, ttl ms, epoch, token.
const ACK = new LuaScript(`${LUA_FENCE}
if #KEYS == 3 then
  local lost = fence(KEYS[2], KEYS[3], ARGV[3], ARGV[4])
  if lost then return {0, lost} end
end
if redis.call('EXISTS', KEYS[1]) == 0 then return {1, 0} end
local n = redis.call('XTRIM', KEYS[1], 'MINID', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {1, n}
`)

const STREAM_ID = /^(\d{1,20})-(\d{1,20})$/

/** Checks a stream entry id (`<ms>-<seq>`). */
function checkEntryId (name: string, id: unknown): string {
  if (typeof id !== 'string' || !STREAM_ID.test(id)) throw new InvalidArgumentError(name, 'a stream entry id like 1700000000000-0', describe(id))
  return id
}

/** The smallest entry id greater than `id`. */
function nextId (id: string): string {
  const [, ms, seq] = STREAM_ID.exec(id) as RegExpExecArray
  return `${ms as string}-${(BigInt(seq as string) + 1n).toString()}`
}

function checkAddress (address: StreamAddress): StreamAddress {
  if (typeof address !== 'object' || address === null || (address.kind !== 'device' && address.kind !== 'node')) {
    throw new InvalidArgumentError('address', "{ kind: 'device' | 'node', id }", describe(address))
  }
  checkId('address.id', address.id)
  return address
}

/** `device:<id>` or `node:<id>`: how errors and doorbells name a stream. */
function streamName (address: StreamAddress): string {
  return `${address.kind}:${address.id}`
}

/**
 * Durable delivery to a device or a node on Redis streams.
 *
 * - `append` adds an entry at the end of the stream (one Lua script: optional lease check, bound check, XADD,
 *   TTL, doorbell PUBLISH), so entries of one stream are in the order they were appended.
 * - An entry stays until its reader acknowledges it with `ack` (explicit trimming with XTRIM MINID), so whoever
 *   reads the stream next (the same node after a Redis blip, or a new node after a takeover) gets every entry
 *   that was not acknowledged. Nothing is dropped to make room: a full stream refuses appends.
 * - The doorbell (a PUBLISH to the reading node's channel) only wakes a {@link RedisStreamReader} up; a missed
 *   doorbell delays an entry by at most the reader's poll interval and never loses it.
 */
export class RedisDeliveryLog implements DeliveryLog {
  readonly #redis: RedisConnection
  readonly #maxStreamLength: number
  readonly #streamTtlMs: number
  readonly #maxPayloadBytes: number

  /**
   * @param redis - the node's connection
   * @param options - bounds
   * @throws InvalidOptionError when an option is out of range
   */
  constructor (redis: RedisConnection, options: RedisDeliveryLogOptions = {}) {
    this.#redis = redis
    this.#maxStreamLength = optionCount('maxStreamLength', options.maxStreamLength, 10_000)
    this.#streamTtlMs = optionMs('streamTtlMs', options.streamTtlMs, 3_600_000)
    this.#maxPayloadBytes = optionCount('maxPayloadBytes', options.maxPayloadBytes, 1_048_576)
  }

  /**
   * Appends `payload` to the stream; resolves with the entry's id.
   * @throws StreamFullError when the stream holds `maxStreamLength` entries; FencedError when `options.fence` no
   * longer holds; InvalidArgumentError, RedisUnavailableError, RedisCommandError
   */
  async append (to: StreamAddress, payload: string, options: AppendOptions = {}): Promise<string> {
    checkAddress(to)
    if (typeof payload !== 'string') throw new InvalidArgumentError('payload', 'a string', describe(payload))
    const bytes = Buffer.byteLength(payload)
    if (bytes > this.#maxPayloadBytes) throw new InvalidArgumentError('payload', `at most ${this.#maxPayloadBytes} bytes`, `${bytes} bytes`)
    const wake = options.wake === undefined ? '' : this.#redis.keys.doorbell(checkId('wake', options.wake))
    const { keys, fenceArgs } = this.#fenced(this.#redis.keys.stream(to.kind, to.id), options.fence)
    const reply = await this.#redis.run('stream.append', async (client) => await APPEND.run(
      client, keys, [payload, this.#maxStreamLength, this.#streamTtlMs, wake, ...fenceArgs, streamName(to)]
    )) as [number, string]
    if (reply[0] === 1) return reply[1]
    if (reply[1] === 'full') throw new StreamFullError(streamName(to), this.#maxStreamLength)
    const fence = options.fence as LeaseFence
    throw new FencedError(fence.clientId, fence.epoch, reply[1] as LeaseLossReason)
  }

  /**
   * Reads up to `count` entries after `afterId`, oldest first (`0-0` reads from the oldest entry kept).
   * @throws InvalidArgumentError, RedisUnavailableError, RedisCommandError
   */
  async read (from: StreamAddress, afterId: string, count = 100): Promise<DeliveryEntry[]> {
    checkAddress(from)
    checkEntryId('afterId', afterId)
    if (!Number.isSafeInteger(count) || count < 1) throw new InvalidArgumentError('count', 'a positive integer', describe(count))
    const key = this.#redis.keys.stream(from.kind, from.id)
    const entries = await this.#redis.run('stream.read', async (client) => await client.xrange(key, `(${afterId}`, '+', 'COUNT', count))
    return entries.map(toEntry)
  }

  /**
   * Acknowledges every entry up to and including `id`: they are removed from the stream. Resolves with how many
   * were removed.
   * @throws FencedError when `options.fence` no longer holds; InvalidArgumentError, RedisUnavailableError,
   * RedisCommandError
   */
  async ack (from: StreamAddress, id: string, options: { fence?: LeaseFence } = {}): Promise<number> {
    checkAddress(from)
    checkEntryId('id', id)
    const { keys, fenceArgs } = this.#fenced(this.#redis.keys.stream(from.kind, from.id), options.fence)
    const reply = await this.#redis.run('stream.ack', async (client) => await ACK.run(
      client, keys, [nextId(id), this.#streamTtlMs, ...fenceArgs]
    )) as [number, number | string]
    if (reply[0] === 1) return reply[1] as number
    const fence = options.fence as LeaseFence
    throw new FencedError(fence.clientId, fence.epoch, reply[1] as LeaseLossReason)
  }

  /**
   * Entries waiting in the stream (appended and not acknowledged).
   * @throws InvalidArgumentError, RedisUnavailableError, RedisCommandError
   */
  async length (of: StreamAddress): Promise<number> {
    checkAddress(of)
    const key = this.#redis.keys.stream(of.kind, of.id)
    return await this.#redis.run('stream.length', async (client) => await client.xlen(key))
  }

  #fenced (key: string, fence: LeaseFence | undefined): { keys: string[], fenceArgs: Array<string | number> } {
    if (fence === undefined) return { keys: [key], fenceArgs: ['', ''] }
    checkId('fence.clientId', fence.clientId)
    if (!Number.isSafeInteger(fence.epoch) || fence.epoch < 1) throw new InvalidArgumentError('fence.epoch', 'a positive integer', describe(fence.epoch))
    checkId('fence.token', fence.token)
    const keys = this.#redis.keys
    return { keys: [key, keys.lease(fence.clientId), keys.epoch(fence.clientId)], fenceArgs: [fence.epoch, fence.token] }
  }
}

function toEntry ([id, fields]: [string, string[]]): DeliveryEntry {
  const at = fields.indexOf('p')
  return { id, payload: at === -1 ? '' : fields[at + 1] ?? '' }
}

/** Handles one entry; the reader waits for it before handing over the next entry of the same stream. */
export type EntryHandler = (entry: DeliveryEntry, address: StreamAddress) => void | Promise<void>

/** Options of {@link RedisStreamReader}. */
export interface RedisStreamReaderOptions {
  /** This node's id: the reader listens to its doorbell. */
  nodeId: string
  /** Longest wait between two reads when no doorbell rings, in milliseconds. Default 1000. */
  pollIntervalMs?: number
  /** Most entries read per stream per round. Default 100. */
  batchSize?: number
  /** A pino-style logger. Default: silent. */
  logger?: Logger
}

/** Options of {@link RedisStreamReader.follow}. */
export interface FollowOptions {
  /** Hand over the entries after this id. Default `0-0`: every entry the stream holds. */
  afterId?: string
}

interface Follow {
  readonly address: StreamAddress
  readonly handler: EntryHandler
  cursor: string
}

/**
 * Reads the delivery streams a node follows (its devices' and its own) and hands each entry to the stream's
 * handler, in stream order, one at a time per stream.
 *
 * It reads when its node's doorbell rings, when the doorbell's subscription is confirmed (first, and after each
 * reconnection of the subscriber), when the command connection becomes ready again (a reconnection re-reads from
 * the cursor), and at the latest every `pollIntervalMs`: a doorbell lost while the subscriber was away only
 * delays delivery, and not even that when the subscriber came back before the reader's next poll. Entries are not acknowledged by the reader: the handler (or whoever knows the entry was
 * delivered) calls {@link RedisDeliveryLog.ack}.
 */
export class RedisStreamReader {
  readonly #redis: RedisConnection
  readonly #nodeId: string
  readonly #pollIntervalMs: number
  readonly #batchSize: number
  readonly #log: Logger
  readonly #follows = new Map<string, Follow>()
  readonly #disposers: Array<() => void> = []
  #closed = false
  #woken = false
  #wakeUp: (() => void) | undefined
  readonly #loop: Promise<void>
  #reads = 0

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
    // Read again once the doorbell is (re)subscribed: whatever was appended before it could ring is read then.
    this.#disposers.push(redis.subscribe(redis.keys.doorbell(this.#nodeId), () => this.#wake(), () => this.#wake()))
    this.#disposers.push(redis.onStateChange(({ state }) => { if (state === 'ready') this.#wake() }))
    this.#loop = this.#run()
  }

  /** Rounds of reads done so far (for tests and metrics). */
  get reads (): number {
    return this.#reads
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
    const follow: Follow = { address: { kind: address.kind, id: address.id }, handler, cursor }
    this.#follows.set(key, follow)
    this.#wake()
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

  #wake (): void {
    this.#woken = true
    this.#wakeUp?.()
  }

  async #sleep (ms: number | undefined): Promise<void> {
    if (this.#woken) return
    await new Promise<void>((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(() => { this.#wakeUp = undefined; resolve() }, ms)
      this.#wakeUp = () => {
        clearTimeout(timer)
        this.#wakeUp = undefined
        resolve()
      }
    })
  }

  async #run (): Promise<void> {
    while (!this.#closed) {
      if (this.#follows.size === 0) {
        await this.#sleep(undefined)
        this.#woken = false
        continue
      }
      this.#woken = false
      let handed = 0
      try {
        handed = await this.#readOnce()
      } catch (err) {
        this.#log.warn({ err, nodeId: this.#nodeId }, 'redis stream read failed; retrying')
      }
      if (handed === 0) await this.#sleep(this.#pollIntervalMs)
    }
  }

  async #readOnce (): Promise<number> {
    const follows = [...this.#follows.entries()]
    const keys = follows.map(([key]) => key)
    const cursors = follows.map(([, follow]) => follow.cursor)
    this.#reads++
    const reply = await this.#redis.run('stream.follow', async (client) => await client.xread('COUNT', this.#batchSize, 'STREAMS', ...keys, ...cursors))
    let handed = 0
    for (const [key, entries] of reply ?? []) {
      const follow = this.#follows.get(key)
      for (const raw of entries) {
        if (this.#closed || follow === undefined || this.#follows.get(key) !== follow) break
        const entry = toEntry(raw)
        follow.cursor = entry.id
        handed++
        try {
          await follow.handler(entry, follow.address)
        } catch (err) {
          this.#log.error({ err, stream: streamName(follow.address), entryId: entry.id }, 'stream entry handler threw')
        }
      }
    }
    return handed
  }
}
