import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { RedisConnection } from './connection.js'
import { InvalidArgumentError, InvalidOptionError } from './errors.js'
import type { LeaseLossReason } from './errors.js'
import { checkId, checkMs, describe, optionCount, optionMs } from './keys.js'
import { LUA_FENCE, LUA_KEEP_TTL, LUA_NOW, LuaScript } from './script.js'
import type { Lease, LeaseCheck, LeaseFence, LeaseRecord, LeaseRegistry, RegisterOptions, RegisterOutcome } from './types.js'

/** Options of {@link RedisLeaseRegistry}. */
export interface RedisLeaseRegistryOptions {
  /** Default length of a lease, in milliseconds (about 3 heartbeat intervals). Default 60000. */
  leaseMs?: number
  /**
   * How long a client id's epoch counter is kept after its last registration, in milliseconds; at least the
   * longest lease. Within it, epochs of an id only grow. Default 7 days.
   */
  epochRetentionMs?: number
  /** Largest `data` accepted, in bytes of JSON. Default 65536. */
  maxDataBytes?: number
}

// KEYS: lease, epoch, node index, cluster index. ARGV: mode, node, token, lease ms, data, epoch retention ms, client id.
const REGISTER = new LuaScript(`${LUA_NOW}${LUA_KEEP_TTL}
local cur = redis.call('HMGET', KEYS[1], 'node', 'epoch', 'acquired', 'renewed', 'data')
if cur[2] and ARGV[1] == 'if-absent' then
  return {0, cur[1], cur[2], cur[3], cur[4], redis.call('PTTL', KEYS[1]), cur[5] or ''}
end
local epoch = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
local ms = tonumber(ARGV[4])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'node', ARGV[2], 'epoch', epoch, 'token', ARGV[3], 'acquired', now, 'renewed', now, 'data', ARGV[5])
redis.call('PEXPIRE', KEYS[1], ms)
for i = 3, 4 do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
  redis.call('ZADD', KEYS[i], now + ms, ARGV[7])
  keep_ttl(KEYS[i], ms)
end
return {1, epoch, cur[1] or '', cur[2] or ''}
`)

// KEYS: lease, epoch, node index, cluster index. ARGV: epoch, token, lease ms, client id.
const RENEW = new LuaScript(`${LUA_NOW}${LUA_KEEP_TTL}${LUA_FENCE}
local lost = fence(KEYS[1], KEYS[2], ARGV[1], ARGV[2])
if lost then return lost end
local ms = tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 'renewed', now)
redis.call('PEXPIRE', KEYS[1], ms)
keep_ttl(KEYS[2], ms)
for i = 3, 4 do
  redis.call('ZADD', KEYS[i], now + ms, ARGV[4])
  keep_ttl(KEYS[i], ms)
end
return 'held'
`)

// KEYS: lease, epoch, node index, cluster index. ARGV: epoch, token, client id.
const RELEASE = new LuaScript(`${LUA_FENCE}
if fence(KEYS[1], KEYS[2], ARGV[1], ARGV[2]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[3], ARGV[3])
redis.call('ZREM', KEYS[4], ARGV[3])
return 1
`)

// KEYS: lease, epoch. ARGV: epoch, token.
const CHECK = new LuaScript(`${LUA_FENCE}
return fence(KEYS[1], KEYS[2], ARGV[1], ARGV[2]) or 'held'
`)

// KEYS: an index. Drops expired members, returns the others.
const LIVE_MEMBERS = new LuaScript(`${LUA_NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZRANGE', KEYS[1], 0, -1)
`)

/**
 * The cluster-wide registry of which client id is connected to which node, on Redis.
 *
 * - A registration gets an **epoch**, incremented atomically per client id, and a random **token**; the pair
 *   is the holder's proof. Renewal, release and guarded writes check it in the same Lua script that acts, so a
 *   holder that was taken over (fenced) or whose lease expired can do none of them.
 * - `if-absent` registration fails while another holder's lease lives; `takeover` replaces it.
 * - A lease that is not renewed expires (Redis TTL): when a node dies, its clients' leases run out within
 *   `leaseMs`, and `get`, `list` and `listByNode` stop showing them.
 * - Indexes per node and cluster-wide are sorted sets scored by expiry, trimmed on every write and listing, with
 *   a TTL of their own.
 *
 * @example
 * ```ts
 * const leases = new RedisLeaseRegistry(redis, { leaseMs: 60_000 })
 * const outcome = await leases.register('device-1', { nodeId: 'node-a', mode: 'takeover' })
 * if (outcome.acquired) setInterval(() => leases.renew(outcome.lease), 20_000)
 * ```
 */
export class RedisLeaseRegistry implements LeaseRegistry {
  readonly #redis: RedisConnection
  readonly #leaseMs: number
  readonly #epochRetentionMs: number
  readonly #maxDataBytes: number

  /**
   * @param redis - the node's connection
   * @param options - lease length and retention
   * @throws InvalidOptionError when an option is out of range
   */
  constructor (redis: RedisConnection, options: RedisLeaseRegistryOptions = {}) {
    this.#redis = redis
    this.#leaseMs = optionMs('leaseMs', options.leaseMs, 60_000)
    this.#epochRetentionMs = optionMs('epochRetentionMs', options.epochRetentionMs, 7 * 24 * 3_600_000)
    this.#maxDataBytes = optionCount('maxDataBytes', options.maxDataBytes, 65_536)
    if (this.#epochRetentionMs < this.#leaseMs) {
      throw new InvalidOptionError('epochRetentionMs', `at least leaseMs (${this.#leaseMs})`, describe(this.#epochRetentionMs))
    }
  }

  /** The default lease length, in milliseconds. */
  get leaseMs (): number {
    return this.#leaseMs
  }

  /**
   * Registers `clientId` on `options.nodeId`. With `if-absent` (the default) it fails while another lease lives
   * and answers who holds it; with `takeover` it replaces any holder, whose epoch is fenced from then on.
   * @throws InvalidArgumentError, RedisUnavailableError, RedisCommandError
   */
  async register (clientId: string, options: RegisterOptions): Promise<RegisterOutcome> {
    checkId('clientId', clientId)
    const nodeId = checkId('nodeId', options?.nodeId)
    const mode = options.mode ?? 'if-absent'
    if (mode !== 'if-absent' && mode !== 'takeover') throw new InvalidArgumentError('mode', "'if-absent' or 'takeover'", describe(mode))
    const leaseMs = options.leaseMs === undefined ? this.#leaseMs : checkMs('leaseMs', options.leaseMs)
    if (leaseMs > this.#epochRetentionMs) throw new InvalidArgumentError('leaseMs', `at most epochRetentionMs (${this.#epochRetentionMs})`, describe(leaseMs))
    const data = options.data === undefined ? '' : JSON.stringify(options.data)
    if (Buffer.byteLength(data) > this.#maxDataBytes) {
      throw new InvalidArgumentError('data', `at most ${this.#maxDataBytes} bytes of JSON`, `${Buffer.byteLength(data)} bytes`)
    }
    const token = randomUUID()
    const keys = this.#redis.keys
    const reply = await this.#redis.run('lease.register', async (client) => await REGISTER.run(
      client,
      [keys.lease(clientId), keys.epoch(clientId), keys.nodeLeases(nodeId), keys.allLeases()],
      [mode, nodeId, token, leaseMs, data, this.#epochRetentionMs, clientId]
    )) as unknown[]
    if (reply[0] === 0) {
      const [, node, epoch, acquired, renewed, ttl, stored] = reply as [number, string, string, string, string, number, string]
      return { acquired: false, holder: toRecord(clientId, [node, epoch, acquired, renewed, stored], ttl) }
    }
    const [, epoch, previousNode, previousEpoch] = reply as [number, number, string, string]
    return {
      acquired: true,
      lease: Object.freeze({ clientId, nodeId, epoch, token, leaseMs }),
      replaced: previousEpoch === '' ? null : { nodeId: previousNode, epoch: Number(previousEpoch) }
    }
  }

  /**
   * Extends the lease by its `leaseMs`, only if its epoch and token still hold it.
   * @throws RedisUnavailableError, RedisCommandError
   */
  async renew (lease: Lease): Promise<LeaseCheck> {
    const fence = checkFence(lease)
    const nodeId = checkId('lease.nodeId', lease.nodeId)
    const leaseMs = checkMs('lease.leaseMs', lease.leaseMs)
    const keys = this.#redis.keys
    const reply = await this.#redis.run('lease.renew', async (client) => await RENEW.run(
      client,
      [keys.lease(fence.clientId), keys.epoch(fence.clientId), keys.nodeLeases(nodeId), keys.allLeases()],
      [fence.epoch, fence.token, leaseMs, fence.clientId]
    ))
    return toCheck(reply)
  }

  /**
   * Checks, without changing anything, whether the lease still holds.
   * @throws RedisUnavailableError, RedisCommandError
   */
  async check (lease: LeaseFence): Promise<LeaseCheck> {
    const fence = checkFence(lease)
    const keys = this.#redis.keys
    const reply = await this.#redis.run('lease.check', async (client) => await CHECK.run(
      client,
      [keys.lease(fence.clientId), keys.epoch(fence.clientId)],
      [fence.epoch, fence.token]
    ))
    return toCheck(reply)
  }

  /**
   * Removes the lease if its epoch and token still hold it. Resolves `false` (and changes nothing) when it was
   * taken over or had expired.
   * @throws RedisUnavailableError, RedisCommandError
   */
  async release (lease: Lease): Promise<boolean> {
    const fence = checkFence(lease)
    const nodeId = checkId('lease.nodeId', lease.nodeId)
    const keys = this.#redis.keys
    const reply = await this.#redis.run('lease.release', async (client) => await RELEASE.run(
      client,
      [keys.lease(fence.clientId), keys.epoch(fence.clientId), keys.nodeLeases(nodeId), keys.allLeases()],
      [fence.epoch, fence.token, fence.clientId]
    ))
    return reply === 1
  }

  /**
   * The current holder of a client id, or `null` when none (never registered, released or expired).
   * @throws RedisUnavailableError, RedisCommandError
   */
  async get (clientId: string): Promise<LeaseRecord | null> {
    checkId('clientId', clientId)
    const [record] = await this.#redis.run('lease.get', async (client) => await readLeases(client, this.#redis.keys.lease.bind(this.#redis.keys), [clientId]))
    return record ?? null
  }

  /**
   * The leases `nodeId` holds now (leases it lost to a takeover or to expiry are left out).
   * @throws RedisUnavailableError, RedisCommandError
   */
  async listByNode (nodeId: string): Promise<LeaseRecord[]> {
    checkId('nodeId', nodeId)
    const records = await this.#list('lease.listByNode', this.#redis.keys.nodeLeases(nodeId))
    return records.filter((record) => record.nodeId === nodeId)
  }

  /**
   * Every live lease of the cluster (of this key prefix), in client id order.
   * @throws RedisUnavailableError, RedisCommandError
   */
  async list (): Promise<LeaseRecord[]> {
    return await this.#list('lease.list', this.#redis.keys.allLeases())
  }

  async #list (operation: string, index: string): Promise<LeaseRecord[]> {
    const keys = this.#redis.keys
    return await this.#redis.run(operation, async (client) => {
      const members = await LIVE_MEMBERS.run(client, [index], []) as string[]
      const records = await readLeases(client, keys.lease.bind(keys), members)
      return records.sort((a, b) => a.clientId < b.clientId ? -1 : a.clientId > b.clientId ? 1 : 0)
    })
  }
}

function checkFence (lease: LeaseFence): LeaseFence {
  if (typeof lease !== 'object' || lease === null) throw new InvalidArgumentError('lease', 'a lease', describe(lease))
  checkId('lease.clientId', lease.clientId)
  if (!Number.isSafeInteger(lease.epoch) || lease.epoch < 1) throw new InvalidArgumentError('lease.epoch', 'a positive integer', describe(lease.epoch))
  checkId('lease.token', lease.token)
  return lease
}

function toCheck (reply: unknown): LeaseCheck {
  if (reply === 'held') return { held: true }
  return { held: false, reason: reply as LeaseLossReason }
}

async function readLeases (client: Redis, leaseKey: (clientId: string) => string, clientIds: string[]): Promise<LeaseRecord[]> {
  if (clientIds.length === 0) return []
  const pipeline = client.pipeline()
  for (const clientId of clientIds) {
    pipeline.hmget(leaseKey(clientId), 'node', 'epoch', 'acquired', 'renewed', 'data')
    pipeline.pttl(leaseKey(clientId))
  }
  const replies = await pipeline.exec() ?? []
  const records: LeaseRecord[] = []
  for (let i = 0; i < clientIds.length; i++) {
    const [fieldsError, fields] = replies[2 * i] ?? [null, null]
    const [ttlError, ttl] = replies[2 * i + 1] ?? [null, null]
    if (fieldsError !== null) throw fieldsError
    if (ttlError !== null) throw ttlError
    const values = fields as Array<string | null>
    if (values[1] === null || values[1] === undefined || (ttl as number) < 0) continue
    records.push(toRecord(clientIds[i] as string, values, ttl as number))
  }
  return records
}

function toRecord (clientId: string, [node, epoch, acquired, renewed, data]: Array<string | null | undefined>, ttl: number): LeaseRecord {
  return Object.freeze({
    clientId,
    nodeId: node ?? '',
    epoch: Number(epoch),
    acquiredAt: Number(acquired),
    renewedAt: Number(renewed),
    expiresInMs: Math.max(0, ttl),
    data: data === '' || data === null || data === undefined ? null : JSON.parse(data) as unknown
  })
}
