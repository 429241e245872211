import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import { TurnBatch } from './batch.js'
import type { RedisConnection } from './connection.js'
import { InvalidArgumentError, InvalidOptionError } from './errors.js'
import type { LeaseLossReason } from './errors.js'
import { checkId, checkMs, describe, optionCount, optionMs } from './keys.js'
import { LUA_EXTEND_TTL, LUA_FENCE, LUA_KEEP_TTL, LUA_NOW, LuaScript } from './script.js'
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

// The registrations of one turn. KEYS per registration (5): lease, epoch, node index, cluster index, inbox stream (the
// lease key again when none). ARGV per registration (8): mode, node, token, lease ms, data, epoch retention ms, client
// id, '1' with an inbox. Answers per registration {0, holder node, epoch, acquired, renewed, PTTL, data} when refused,
// {1, epoch, previous node, previous epoch, entries waiting in the inbox or -1} when acquired. One after the other,
// as if sent one by one; each index's TTL is kept once.
const REGISTER_MANY = new LuaScript(`${LUA_NOW}${LUA_EXTEND_TTL}
local out, longest, order = {}, {}, {}
for i = 0, #KEYS / 5 - 1 do
  local k, a = 5 * i, 8 * i
  local lk, ek = KEYS[k + 1], KEYS[k + 2]
  local cur = redis.call('HMGET', lk, 'node', 'epoch', 'acquired', 'renewed', 'data')
  if cur[2] and ARGV[a + 1] == 'if-absent' then
    out[i + 1] = {0, cur[1], cur[2], cur[3], cur[4], redis.call('PTTL', lk), cur[5] or ''}
  else
    local epoch = redis.call('INCR', ek)
    redis.call('PEXPIRE', ek, ARGV[a + 6])
    local ms = tonumber(ARGV[a + 4])
    -- Every field of the hash is written: nothing of an earlier holder is left.
    redis.call('HSET', lk, 'node', ARGV[a + 2], 'epoch', epoch, 'token', ARGV[a + 3], 'acquired', now, 'renewed', now, 'data', ARGV[a + 5])
    redis.call('PEXPIRE', lk, ms)
    -- The indexes are trimmed of expired members by renewals and listings, not here.
    for j = 3, 4 do
      local ix = KEYS[k + j]
      redis.call('ZADD', ix, now + ms, ARGV[a + 7])
      if longest[ix] == nil then order[#order + 1] = ix end
      if longest[ix] == nil or longest[ix] < ms then longest[ix] = ms end
    end
    local waiting = -1
    if ARGV[a + 8] == '1' then waiting = redis.call('XLEN', KEYS[k + 5]) end
    out[i + 1] = {1, epoch, cur[1] or '', cur[2] or '', waiting}
  end
end
for _, ix in ipairs(order) do extend_ttl(ix, longest[ix]) end
return out
`)

// KEYS: lease, epoch, node index, cluster index. ARGV: epoch, token, lease ms, client id.
const RENEW = new LuaScript(`${LUA_NOW}${LUA_KEEP_TTL}${LUA_EXTEND_TTL}${LUA_FENCE}
local lost = fence(KEYS[1], KEYS[2], ARGV[1], ARGV[2])
if lost then return lost end
local ms = tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 'renewed', now)
redis.call('PEXPIRE', KEYS[1], ms)
keep_ttl(KEYS[2], ms)
for i = 3, 4 do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
  redis.call('ZADD', KEYS[i], now + ms, ARGV[4])
  extend_ttl(KEYS[i], ms)
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

// KEYS: cluster index, then per lease: lease, epoch, node index. ARGV: per lease: epoch, token, lease ms, client id.
// Renews every lease its holder still holds; answers 'held', 'fenced' or 'expired' per lease. Each index gets one
// ZADD for all its renewed members, is trimmed of its expired members and has its TTL kept, once per call.
const RENEW_MANY = new LuaScript(`${LUA_NOW}${LUA_KEEP_TTL}${LUA_EXTEND_TTL}${LUA_FENCE}
local out, longest, order, members = {}, {}, {}, {}
local function index(k, score, id, ms)
  local m = members[k]
  if m == nil then
    m = {}
    members[k] = m
    order[#order + 1] = k
    longest[k] = ms
  elseif longest[k] < ms then
    longest[k] = ms
  end
  m[#m + 1] = score
  m[#m + 1] = id
end
for i = 0, (#KEYS - 1) / 3 - 1 do
  local lk, ek, nk = KEYS[2 + 3 * i], KEYS[3 + 3 * i], KEYS[4 + 3 * i]
  local epoch, token, ms, id = ARGV[1 + 4 * i], ARGV[2 + 4 * i], tonumber(ARGV[3 + 4 * i]), ARGV[4 + 4 * i]
  local lost = fence(lk, ek, epoch, token)
  if lost then
    out[i + 1] = lost
  else
    redis.call('HSET', lk, 'renewed', now)
    redis.call('PEXPIRE', lk, ms)
    keep_ttl(ek, ms)
    index(nk, now + ms, id, ms)
    index(KEYS[1], now + ms, id, ms)
    out[i + 1] = 'held'
  end
end
for _, k in ipairs(order) do
  redis.call('ZADD', k, unpack(members[k]))
  redis.call('ZREMRANGEBYSCORE', k, '-inf', now)
  extend_ttl(k, longest[k])
end
return out
`)

// KEYS: leases. Answers per lease its node, epoch, acquired, renewed, data ('' when absent) and PTTL.
const READ_LEASES = new LuaScript(`
local out = {}
for i, k in ipairs(KEYS) do
  local f = redis.call('HMGET', k, 'node', 'epoch', 'acquired', 'renewed', 'data')
  out[i] = { f[1] or '', f[2] or '', f[3] or '', f[4] or '', f[5] or '', redis.call('PTTL', k) }
end
return out
`)

/** Most leases renewed or read by one script call. */
const MAX_LEASES_PER_CALL = 500

interface PendingRegister {
  readonly clientId: string
  readonly nodeId: string
  readonly mode: 'if-absent' | 'takeover'
  readonly token: string
  readonly leaseMs: number
  readonly data: string
  /** The inbox stream's key, or `null`. */
  readonly inbox: string | null
  readonly resolve: (outcome: RegisterOutcome) => void
  readonly reject: (err: unknown) => void
}

interface PendingGet {
  readonly clientId: string
  readonly resolve: (record: LeaseRecord | null) => void
  readonly reject: (err: unknown) => void
}

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
 * - Indexes per node and cluster-wide are sorted sets scored by expiry, trimmed on every renewal and listing, with
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
  readonly #gets: TurnBatch<PendingGet>
  readonly #registers: TurnBatch<PendingRegister>

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
    this.#gets = new TurnBatch(redis, (batch) => { this.#read(batch) }, MAX_LEASES_PER_CALL)
    this.#registers = new TurnBatch(redis, (batch) => { this.#register(batch) }, MAX_LEASES_PER_CALL)
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
    let inbox: string | null = null
    if (options.inbox !== undefined) {
      const address = options.inbox
      if (typeof address !== 'object' || address === null || (address.kind !== 'device' && address.kind !== 'node')) {
        throw new InvalidArgumentError('inbox', "{ kind: 'device' | 'node', id }", describe(address))
      }
      inbox = this.#redis.keys.stream(address.kind, checkId('inbox.id', address.id))
    }
    // The registrations of one turn share one script call (each answered as if sent alone, in order).
    return await new Promise<RegisterOutcome>((resolve, reject) => {
      this.#registers.add({ clientId, nodeId, mode, token: randomUUID(), leaseMs, data, inbox, resolve, reject })
    })
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
    const reply = await this.#redis.run('lease.renew', (client) => RENEW.run(
      client,
      [keys.lease(fence.clientId), keys.epoch(fence.clientId), keys.nodeLeases(nodeId), keys.allLeases()],
      [fence.epoch, fence.token, leaseMs, fence.clientId]
    ))
    return toCheck(reply)
  }

  /**
   * Renews many leases in one script call per 500 (a node's sweep): the same as {@link renew} for each, answered in
   * the same order.
   * @throws InvalidArgumentError, RedisUnavailableError, RedisCommandError
   */
  async renewMany (leases: readonly Lease[]): Promise<LeaseCheck[]> {
    if (!Array.isArray(leases)) throw new InvalidArgumentError('leases', 'an array of leases', describe(leases))
    const keys = this.#redis.keys
    const all = keys.allLeases()
    const checks: LeaseCheck[] = []
    for (let i = 0; i < leases.length; i += MAX_LEASES_PER_CALL) {
      const slice = leases.slice(i, i + MAX_LEASES_PER_CALL)
      const scriptKeys = [all]
      const args: Array<string | number> = []
      for (const lease of slice) {
        const fence = checkFence(lease)
        const nodeId = checkId('lease.nodeId', lease.nodeId)
        const leaseMs = checkMs('lease.leaseMs', lease.leaseMs)
        scriptKeys.push(keys.lease(fence.clientId), keys.epoch(fence.clientId), keys.nodeLeases(nodeId))
        args.push(fence.epoch, fence.token, leaseMs, fence.clientId)
      }
      const replies = await this.#redis.run('lease.renew', (client) => RENEW_MANY.run(client, scriptKeys, args)) as unknown[]
      for (const reply of replies) checks.push(toCheck(reply))
    }
    return checks
  }

  /**
   * Checks, without changing anything, whether the lease still holds.
   * @throws RedisUnavailableError, RedisCommandError
   */
  async check (lease: LeaseFence): Promise<LeaseCheck> {
    const fence = checkFence(lease)
    const keys = this.#redis.keys
    const reply = await this.#redis.run('lease.check', (client) => CHECK.run(
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
    const reply = await this.#redis.run('lease.release', (client) => RELEASE.run(
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
    // The lookups of one turn of the event loop share one script call.
    return await new Promise<LeaseRecord | null>((resolve, reject) => { this.#gets.add({ clientId, resolve, reject }) })
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

  #register (batch: PendingRegister[]): void {
    const keys = this.#redis.keys
    const scriptKeys: string[] = []
    const args: Array<string | number> = []
    for (const r of batch) {
      const lease = keys.lease(r.clientId)
      scriptKeys.push(lease, keys.epoch(r.clientId), keys.nodeLeases(r.nodeId), keys.allLeases(), r.inbox ?? lease)
      args.push(r.mode, r.nodeId, r.token, r.leaseMs, r.data, this.#epochRetentionMs, r.clientId, r.inbox === null ? '0' : '1')
    }
    this.#redis.run('lease.register', (client) => REGISTER_MANY.run(client, scriptKeys, args)).then((reply) => {
      const rows = reply as unknown[][]
      for (let i = 0; i < batch.length; i++) {
        const r = batch[i] as PendingRegister
        const row = rows[i] as unknown[]
        if (row[0] === 0) {
          const [, node, epoch, acquired, renewed, ttl, stored] = row as [number, string, string, string, string, number, string]
          r.resolve({ acquired: false, holder: toRecord(r.clientId, [node, epoch, acquired, renewed, stored], ttl) })
          continue
        }
        const [, epoch, previousNode, previousEpoch, waiting] = row as [number, number, string, string, number]
        r.resolve({
          acquired: true,
          lease: Object.freeze({ clientId: r.clientId, nodeId: r.nodeId, epoch, token: r.token, leaseMs: r.leaseMs }),
          replaced: previousEpoch === '' ? null : { nodeId: previousNode, epoch: Number(previousEpoch) },
          ...(r.inbox === null ? {} : { waiting })
        })
      }
    }, (err: unknown) => {
      for (const r of batch) r.reject(err)
    })
  }

  #read (batch: PendingGet[]): void {
    const keys = batch.map((get) => this.#redis.keys.lease(get.clientId))
    this.#redis.run('lease.get', (client) => READ_LEASES.run(client, keys, [])).then((reply) => {
      const rows = reply as Array<[string, string, string, string, string, number]>
      for (let i = 0; i < batch.length; i++) {
        const get = batch[i] as PendingGet
        const [node, epoch, acquired, renewed, data, ttl] = rows[i] as [string, string, string, string, string, number]
        get.resolve(epoch === '' || ttl < 0 ? null : toRecord(get.clientId, [node, epoch, acquired, renewed, data], ttl))
      }
    }, (err: unknown) => {
      for (const get of batch) get.reject(err)
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

/** A lease record from its hash fields and PTTL. */
export function toRecord (clientId: string, [node, epoch, acquired, renewed, data]: Array<string | null | undefined>, ttl: number): LeaseRecord {
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
