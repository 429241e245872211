import { TurnBatch } from './batch.js'
import type { RedisConnection } from './connection.js'
import type { RedisDeliveryLog } from './streams.js'
import { FencedError, InvalidArgumentError, InvalidOptionError } from './errors.js'
import type { LeaseLossReason } from './errors.js'
import { checkId, checkMs, describe, optionCount, optionMs } from './keys.js'
import { LUA_FENCE, LuaScript } from './script.js'
import type { ClusterResultStore, LeaseFence, PutOptions, RecordStore, ResultKeys } from './types.js'

/** Options of {@link RedisRecordStore}. */
export interface RedisRecordStoreOptions {
  /** The records' kind, part of their keys: lower-case letters, digits and `-`, for example `session` or `task`. */
  namespace: string
  /** Default time to live of a record, in milliseconds. Default 1 hour. */
  ttlMs?: number
  /** Largest record accepted, in bytes of JSON. Default 1 MiB. */
  maxRecordBytes?: number
}

// KEYS: record [, lease, epoch]. ARGV: value ('' to delete), ttl ms, epoch, token.
const WRITE = new LuaScript(`${LUA_FENCE}
if #KEYS == 3 then
  local lost = fence(KEYS[2], KEYS[3], ARGV[3], ARGV[4])
  if lost then return {0, lost} end
end
if ARGV[1] == '' then return {1, redis.call('DEL', KEYS[1])} end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {1, 1}
`)

// KEYS: per result its key and its task-name pointer. ARGV: ttl ms, then per result its JSON and session id.
const PUT_RESULTS = new LuaScript(`
for k = 0, #KEYS / 2 - 1 do
  redis.call('SET', KEYS[2 * k + 1], ARGV[2 * k + 2], 'PX', ARGV[1])
  redis.call('SET', KEYS[2 * k + 2], ARGV[2 * k + 3], 'PX', ARGV[1])
end
return #KEYS / 2
`)

/** Most results written by one script call. */
const MAX_RESULTS_PER_CALL = 256

interface PendingResult {
  readonly sessionId: string
  readonly taskName: string
  readonly json: string
  readonly resolve: () => void
  readonly reject: (err: unknown) => void
}

const NAMESPACE = /^[a-z0-9][a-z0-9-]{0,31}$/

function checkFence (fence: LeaseFence): void {
  checkId('fence.clientId', fence.clientId)
  if (!Number.isSafeInteger(fence.epoch) || fence.epoch < 1) throw new InvalidArgumentError('fence.epoch', 'a positive integer', describe(fence.epoch))
  checkId('fence.token', fence.token)
}

/**
 * JSON records with a TTL, readable from every node: session and task records. Every record has a TTL (a write
 * without one is impossible), so nothing stays after the cluster forgets it. A write or delete given a `fence`
 * happens only if that lease still holds, checked in the same Lua script.
 *
 * @example
 * ```ts
 * const sessions = new RedisRecordStore<SessionInfo>(redis, { namespace: 'session', ttlMs: 600_000 })
 * await sessions.put(sessionId, info, { fence: lease })
 * ```
 */
export class RedisRecordStore<T> implements RecordStore<T> {
  readonly #redis: RedisConnection
  readonly #namespace: string
  readonly #ttlMs: number
  readonly #maxRecordBytes: number

  /**
   * @param redis - the node's connection
   * @param options - namespace, TTL and bound
   * @throws InvalidOptionError when an option is out of range
   */
  constructor (redis: RedisConnection, options: RedisRecordStoreOptions) {
    this.#redis = redis
    if (typeof options?.namespace !== 'string' || !NAMESPACE.test(options.namespace)) {
      throw new InvalidOptionError('namespace', 'lower-case letters, digits and -, at most 32', describe(options?.namespace))
    }
    this.#namespace = options.namespace
    this.#ttlMs = optionMs('ttlMs', options.ttlMs, 3_600_000)
    this.#maxRecordBytes = optionCount('maxRecordBytes', options.maxRecordBytes, 1_048_576)
  }

  /** The namespace of the records. */
  get namespace (): string {
    return this.#namespace
  }

  /**
   * Stores `value` as JSON under `id`, replacing any record, with a TTL.
   * @throws FencedError when `options.fence` no longer holds; InvalidArgumentError, RedisUnavailableError,
   * RedisCommandError
   */
  async put (id: string, value: T, options: PutOptions = {}): Promise<void> {
    checkId('id', id)
    const ttlMs = options.ttlMs === undefined ? this.#ttlMs : checkMs('ttlMs', options.ttlMs)
    const json = JSON.stringify(value)
    if (json === undefined) throw new InvalidArgumentError('value', 'a JSON value', describe(value))
    const bytes = Buffer.byteLength(json)
    if (bytes > this.#maxRecordBytes) throw new InvalidArgumentError('value', `at most ${this.#maxRecordBytes} bytes of JSON`, `${bytes} bytes`)
    await this.#write(`${this.#namespace}.put`, id, json, ttlMs, options.fence)
  }

  /**
   * The record under `id`, or `undefined` (never written, deleted or expired).
   * @throws InvalidArgumentError, RedisUnavailableError, RedisCommandError
   */
  async get (id: string): Promise<T | undefined> {
    checkId('id', id)
    const key = this.#redis.keys.record(this.#namespace, id)
    const json = await this.#redis.run(`${this.#namespace}.get`, async (client) => await client.get(key))
    return json === null ? undefined : JSON.parse(json) as T
  }

  /**
   * Deletes the record under `id`; resolves with whether there was one.
   * @throws FencedError when `options.fence` no longer holds; InvalidArgumentError, RedisUnavailableError,
   * RedisCommandError
   */
  async delete (id: string, options: { fence?: LeaseFence } = {}): Promise<boolean> {
    checkId('id', id)
    return await this.#write(`${this.#namespace}.delete`, id, '', 0, options.fence) === 1
  }

  /**
   * Gives the record under `id` a new TTL (default the store's); resolves with whether it exists.
   * @throws InvalidArgumentError, RedisUnavailableError, RedisCommandError
   */
  async touch (id: string, ttlMs?: number): Promise<boolean> {
    checkId('id', id)
    const ms = ttlMs === undefined ? this.#ttlMs : checkMs('ttlMs', ttlMs)
    const key = this.#redis.keys.record(this.#namespace, id)
    return await this.#redis.run(`${this.#namespace}.touch`, async (client) => await client.pexpire(key, ms)) === 1
  }

  async #write (operation: string, id: string, json: string, ttlMs: number, fence: LeaseFence | undefined): Promise<number> {
    const keys = this.#redis.keys
    const scriptKeys = [keys.record(this.#namespace, id)]
    const args: Array<string | number> = [json, ttlMs, '', '']
    if (fence !== undefined) {
      checkFence(fence)
      scriptKeys.push(keys.lease(fence.clientId), keys.epoch(fence.clientId))
      args[2] = fence.epoch
      args[3] = fence.token
    }
    const reply = await this.#redis.run(operation, (client) => WRITE.run(client, scriptKeys, args)) as [number, number | string]
    if (reply[0] === 1) return reply[1] as number
    const holder = fence as LeaseFence
    throw new FencedError(holder.clientId, holder.epoch, reply[1] as LeaseLossReason)
  }
}

/** Options of {@link RedisResultStore}. */
export interface RedisResultStoreOptions {
  /** How long a result is kept, in milliseconds. Default 1 hour. */
  ttlMs?: number
  /** Largest result accepted, in bytes of JSON. Default 1 MiB. */
  maxRecordBytes?: number
  /**
   * A delivery log on the same connection whose turn script also writes the results: a result and the appends of
   * the same turn (a task's TASK_END to its requester on another node) then cost one script call. Default: the
   * results' own script.
   */
  deliveryLog?: RedisDeliveryLog
}

/**
 * Finished tasks' results, readable from every node by session id and by task name (the latest of that name),
 * each kept `ttlMs`. The record is written before its task-name pointer, and the results put during one turn of
 * the event loop are sent together (one round trip for a burst of results): with a `deliveryLog`, in the script call
 * of the turn's appends, or as plain `SET`s when the turn appends nothing and writes few; without one, in one
 * script call of their own.
 */
export class RedisResultStore<T extends ResultKeys> implements ClusterResultStore<T> {
  readonly #redis: RedisConnection
  readonly #records: RedisRecordStore<T>
  readonly #ttlMs: number
  readonly #maxRecordBytes: number
  readonly #pending: TurnBatch<PendingResult> | null
  readonly #deliveryLog: RedisDeliveryLog | null

  /**
   * @param redis - the node's connection
   * @param options - TTL and bound
   * @throws InvalidOptionError when an option is out of range
   */
  constructor (redis: RedisConnection, options: RedisResultStoreOptions = {}) {
    this.#redis = redis
    this.#ttlMs = optionMs('ttlMs', options.ttlMs, 3_600_000)
    this.#maxRecordBytes = optionCount('maxRecordBytes', options.maxRecordBytes, 1_048_576)
    this.#records = new RedisRecordStore<T>(redis, { namespace: 'result', ttlMs: this.#ttlMs, maxRecordBytes: this.#maxRecordBytes })
    this.#deliveryLog = options.deliveryLog ?? null
    this.#pending = this.#deliveryLog === null ? new TurnBatch(redis, (batch) => { this.#write(batch) }, MAX_RESULTS_PER_CALL) : null
  }

  /**
   * Stores a result under its session id and points its task name at it.
   * @throws InvalidArgumentError, RedisUnavailableError, RedisCommandError
   */
  async put (record: T): Promise<void> {
    if (typeof record !== 'object' || record === null) throw new InvalidArgumentError('record', 'an object', describe(record))
    checkId('record.sessionId', record.sessionId)
    checkId('record.taskName', record.taskName)
    const json = JSON.stringify(record)
    if (json.length * 3 > this.#maxRecordBytes) {
      const bytes = Buffer.byteLength(json)
      if (bytes > this.#maxRecordBytes) throw new InvalidArgumentError('record', `at most ${this.#maxRecordBytes} bytes of JSON`, `${bytes} bytes`)
    }
    if (this.#deliveryLog !== null) {
      const keys = this.#redis.keys
      await this.#deliveryLog.writeWithAppends([[keys.record('result', record.sessionId), json], [keys.record('result-name', record.taskName), record.sessionId]], this.#ttlMs)
      return
    }
    const pending = this.#pending as TurnBatch<PendingResult>
    await new Promise<void>((resolve, reject) => {
      pending.add({ sessionId: record.sessionId, taskName: record.taskName, json, resolve, reject })
    })
  }

  /**
   * The result of a session, or `undefined`.
   * @throws InvalidArgumentError, RedisUnavailableError, RedisCommandError
   */
  async getBySession (sessionId: string): Promise<T | undefined> {
    return await this.#records.get(sessionId)
  }

  /**
   * The latest result stored under a task name, or `undefined`.
   * @throws InvalidArgumentError, RedisUnavailableError, RedisCommandError
   */
  async getByTaskName (taskName: string): Promise<T | undefined> {
    checkId('taskName', taskName)
    const pointer = this.#redis.keys.record('result-name', taskName)
    const sessionId = await this.#redis.run('result.getByTaskName', async (client) => await client.get(pointer))
    return sessionId === null ? undefined : await this.#records.get(sessionId)
  }

  #write (batch: PendingResult[]): void {
    const keys = this.#redis.keys
    const scriptKeys: string[] = []
    const args: Array<string | number> = [this.#ttlMs]
    for (const result of batch) {
      scriptKeys.push(keys.record('result', result.sessionId), keys.record('result-name', result.taskName))
      args.push(result.json, result.sessionId)
    }
    this.#redis.run('result.put', (client) => PUT_RESULTS.run(client, scriptKeys, args)).then(() => {
      for (const result of batch) result.resolve()
    }, (err: unknown) => {
      for (const result of batch) result.reject(err)
    })
  }
}
