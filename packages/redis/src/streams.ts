import type { Redis } from 'ioredis'
import { TurnBatch } from './batch.js'
import type { RedisConnection } from './connection.js'
import { FencedError, InvalidArgumentError, StreamFullError } from './errors.js'
import type { LeaseLossReason } from './errors.js'
import { checkId, describe, optionCount, optionMs } from './keys.js'
import { LUA_FENCE, LuaLibrary } from './script.js'
import { toRecord } from './leases.js'
import type { AppendOptions, DeliveryEntry, DeliveryLog, HolderAppendOptions, HolderAppendOutcome, LeaseFence, StreamAddress } from './types.js'

/** Options of {@link RedisDeliveryLog}. */
export interface RedisDeliveryLogOptions {
  /** Most unacknowledged entries a stream holds; an append beyond fails with {@link StreamFullError}. Default 10000. */
  maxStreamLength?: number
  /**
   * How long a stream's entries wait for a reader, in milliseconds: a stream is deleted (entries and all) this long
   * after its last acknowledgement, or after an append found it empty, whichever came last. Default 1 hour.
   */
  streamTtlMs?: number
  /** Largest payload accepted, in bytes. Default 1 MiB. */
  maxPayloadBytes?: number
  /**
   * Most bytes of entries a doorbell carries. The entries a doorbell announces travel in it (the woken reader hands
   * them over without reading the stream) unless they take more than this: the doorbell then only names the
   * streams, which the reader reads. 0 always names them. Default 65536.
   */
  maxDoorbellBytes?: number
}

/** Most appends (or acknowledgements) sent in one script call; a turn with more sends several, in order. */
const MAX_BATCH = 256

// Lua of the batched scripts: `fenced(l, epoch, token)` checks the lease at KEYS[l] / KEYS[l + 1] once per call and
// holder (nothing else runs during a script, so the answer cannot change within it). Part of each call's body (its
// cache is the call's), after LUA_FENCE in the prelude.
const LUA_FENCE_CACHE = `local fences = {}
local function fenced(l, epoch, token)
  local id = l .. ' ' .. epoch .. ' ' .. token
  local f = fences[id]
  if f == nil then
    f = fence(KEYS[l], KEYS[l + 1], epoch, token) or false
    fences[id] = f
  end
  return f
end
`

// The delivery log's scripts, loaded once as a library of Redis functions (EVAL scripts where Redis refuses it).
const STREAMS = new LuaLibrary()

// Lua shared by the append scripts.
// - `swap_tail(k, id, cur, ttl)`: a stream's last entry id is kept in `<stream key>:tail`, written with each XADD: returns
//   the id of the entry before `id` ('' when the stream held none, `cur` being its length before the XADD; '*' when
//   the tail key is missing, as after it outlived its TTL: the reader then reads the stream). `SET ... GET` answers a
//   short string where `XREVRANGE ... COUNT 1` answered the whole last entry, payload and all, as nested Lua tables.
//   The key gets the stream's TTL when the stream was empty (as the stream does) and keeps it otherwise (KEEPTTL).
// - `enc(s)`: encodeURIComponent, as the node ids in keys are written (a pattern search first: most ids need none).
// - `append_ring(k, max, p, ttl, ch)`: one append of payload `p` to stream `k` holding fewer than |max| entries (nil
//   when it is full) and its doorbell on channel `ch` ('': none), which carries the entry, or names the stream when
//   `max` is negative or the entry before it is not known. Answers the entry id.
const LUA_APPEND_COMMON = `local function swap_tail(k, id, cur, ttl)
  local tk = k .. ':tail'
  if cur == 0 then
    redis.call('SET', tk, id, 'PX', ttl)
    return ''
  end
  local old = redis.call('SET', tk, id, 'KEEPTTL', 'GET')
  if old then return old end
  redis.call('PEXPIRE', tk, ttl)
  return '*'
end
local function enc(s)
  if not string.find(s, "[^%w%-_%.!~%*'%(%)]") then return s end
  return (string.gsub(s, "[^%w%-_%.!~%*'%(%)]", function(c) return string.format('%%%02X', string.byte(c)) end))
end
local function append_ring(k, max, p, ttl, ch)
  local names = max < 0
  if names then max = -max end
  local cur = redis.call('XLEN', k)
  if cur >= max then return nil end
  local id = redis.call('XADD', k, '*', 'p', p)
  if cur == 0 then redis.call('PEXPIRE', k, ttl) end
  local prev = swap_tail(k, id, cur, ttl)
  if ch ~= '' then
    if names or prev == '*' then
      redis.call('PUBLISH', ch, k)
    else
      local nul = '\\0'
      redis.call('PUBLISH', ch, nul .. k .. nul .. prev .. nul .. '1' .. nul .. id .. nul .. p)
    end
  end
  return id
end
`

// KEYS: the stream, then the keys of the records written with it. ARGV: max length (negative when the doorbell is to
// name the stream rather than carry the entry: its payload holds a NUL or is too large), ttl ms, payload, doorbell
// channel ('': none), then the records' TTL ms and their values (SET ... PX, before the append: a task's result and
// its TASK_END cost one script call). One append without a fence (a frame for a requester, most calls at light
// load): the same commands and answers as APPEND_MANY's for one append, with four arguments instead of eleven.
const APPEND_ONE = STREAMS.define('append_one', [LUA_APPEND_COMMON], `
for j = 2, #KEYS do redis.call('SET', KEYS[j], ARGV[j + 4], 'PX', ARGV[5]) end
local id = append_ring(KEYS[1], tonumber(ARGV[1]), ARGV[3], ARGV[2], ARGV[4])
if not id then return { 'full' } end
return { id }
`)

// KEYS: the stream, the lease of the client it is for. ARGV: max length (negative: name the stream, as APPEND_ONE),
// ttl ms, payload, the doorbell channel without its node id, the node not to append for, the data prefix required.
// One append to a client's holder (a forwarded TASK): answers as APPEND_MANY's append to a holder. Reads the lease's
// node and data only (its other fields when they are answered: nothing appended).
const APPEND_HOLDER = STREAMS.define('append_holder', [LUA_APPEND_COMMON], `
local lk = KEYS[2]
local f = redis.call('HMGET', lk, 'node', 'data')
local node = f[1]
if not node then return { { 'absent' } } end
local data = f[2] or ''
local want = ARGV[6]
if node == ARGV[5] or string.find(data, want, 1, true) ~= 1 then
  local g = redis.call('HMGET', lk, 'epoch', 'acquired', 'renewed')
  if not g[1] then return { { 'absent' } } end
  return { { 'held', node, g[1], g[2] or '', g[3] or '', data, redis.call('PTTL', lk) } }
end
local id = append_ring(KEYS[1], tonumber(ARGV[1]), ARGV[3], ARGV[2], ARGV[4] .. enc(node) .. '}')
if not id then return { 'full' } end
return { { 'sent', id, node } }
`)

// KEYS: the records' keys. ARGV: per record its value and TTL ms (SET ... PX). A turn that writes more than
// MAX_PLAIN_RECORDS records and appends nothing: its records in one call, without the appends' bookkeeping.
const WRITE_RECORDS = STREAMS.define('write_records', [], `
for i = 1, #KEYS do redis.call('SET', KEYS[i], ARGV[2 * i - 1], 'PX', ARGV[2 * i]) end
return {}
`)

/**
 * Most records a turn that appends nothing writes as plain `SET ... PX` commands (sent in the turn's one write)
 * rather than in one script call: one result (its record and task-name pointer). Measured (bench README, "Same node,
 * round eleven"): redis-server spends 46 k instructions on a call writing one record and 63 k on one writing two,
 * 12 k and 21 k on as many plain SETs; the node about 20 k more per command it sends. So one result's two SETs save
 * Redis 42 k and cost the node 20 k; each further record would save Redis about 7 k and cost the node 20 k: from
 * two results on, the call is the cheaper.
 */
const MAX_PLAIN_RECORDS = 2

// KEYS: streams, leases and epochs of the batch, and the keys of the records written with it. ARGV: max length, ttl
// ms, n, most bytes a doorbell carries, m, then per append: stream index, lease index (0: none; its epoch key follows
// it), epoch, token, payload, doorbell channel ('' : none); then per record written: key index, value, ttl ms (SET
// ... PX, before the appends: a task's result and its TASK_END cost one script call). Answers per append its entry
// id, or 'full', 'fenced' or 'expired'. An append to a client's holder has instead minus the index of the client's lease, the node not to append for, the data prefix required, and
// the doorbell channel of the holder without its node id: it answers {'absent'} (no lease), {'held', node, epoch,
// acquired, renewed, data, PTTL} (held by that node, or other data: nothing appended), or {'sent', entry id,
// node}, the holder's doorbell rung. The bound check reads a stream's length once per call (XLEN); the id of the
// entry before the call's first one comes from the stream's tail key (see swap_tail), written again at the end for a
// stream that got several. A stream that was empty gets its TTL (one that holds entries keeps the TTL its first
// entry or its last acknowledgement gave it), and each doorbell is rung once. A doorbell carries its entries (see
// DOORBELL below), or, when they would take more than the bytes allowed or a payload holds a NUL, names the streams
// that got entries (their keys, space-separated). A call of one append without a fence takes APPEND_ONE or
// APPEND_HOLDER instead.
const APPEND_MANY = STREAMS.define('append_many', [LUA_FENCE, LUA_APPEND_COMMON], `${LUA_FENCE_CACHE}
local max = tonumber(ARGV[1])
local n = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
local nul = string.char(0)
local m = tonumber(ARGV[5])
for j = 0, m - 1 do
  local b = 5 + n * 6 + j * 3
  redis.call('SET', KEYS[tonumber(ARGV[b + 1])], ARGV[b + 2], 'PX', ARGV[b + 3])
end
-- The lease check of the append whose arguments follow ARGV[b]: an answer when nothing is appended (fenced,
-- expired, no holder, another holder), else false, its doorbell channel and, for an append to a holder, the holder.
local function admit(b)
  local l = tonumber(ARGV[b + 2])
  local ch = ARGV[b + 6]
  if l > 0 then return fenced(l, ARGV[b + 3], ARGV[b + 4]), ch, nil end
  if l < 0 then
    local lk = KEYS[-l]
    local f = redis.call('HMGET', lk, 'node', 'epoch', 'acquired', 'renewed', 'data')
    local data = f[5] or ''
    if not f[2] then return { 'absent' }, ch, nil end
    if f[1] == ARGV[b + 3] or string.sub(data, 1, #ARGV[b + 4]) ~= ARGV[b + 4] then
      return { 'held', f[1], f[2], f[3] or '', f[4] or '', data, redis.call('PTTL', lk) }, ch, nil
    end
    return false, ch .. enc(f[1]) .. '}', f[1]
  end
  return false, ch, nil
end
-- last[s]: the id of the stream's last entry; behind[s]: its tail key is behind it (several appends in this call),
-- listed in stale.
local out, len, last, behind, stale, order, bells, rung = {}, {}, {}, {}, {}, {}, {}, {}
for i = 0, n - 1 do
  local b = 5 + i * 6
  local s = tonumber(ARGV[b + 1])
  local lost, ch, holder = admit(b)
  if lost then
    out[i + 1] = lost
  else
    local cur = len[s]
    local first = cur == nil
    if first then
      cur = redis.call('XLEN', KEYS[s])
      if cur == 0 then order[#order + 1] = s end
    end
    if cur >= max then
      out[i + 1] = 'full'
    else
      local p = ARGV[b + 5]
      local id = redis.call('XADD', KEYS[s], '*', 'p', p)
      local prev
      if first then
        prev = swap_tail(KEYS[s], id, cur, ARGV[2])
      else
        prev = last[s]
        if not behind[s] then
          behind[s] = true
          stale[#stale + 1] = s
        end
      end
      if holder then out[i + 1] = { 'sent', id, holder } else out[i + 1] = id end
      last[s] = id
      cur = cur + 1
      if ch ~= '' then
        local bell = bells[ch]
        if bell == nil then
          bell = { at = {}, list = {}, bytes = 0, names = false }
          bells[ch] = bell
          rung[#rung + 1] = ch
        end
        local st = bell.at[s]
        if st == nil then
          st = { key = KEYS[s], prev = prev, tail = prev, entries = {}, broken = false }
          bell.at[s] = st
          bell.list[#bell.list + 1] = st
        end
        -- An entry of this stream rang another doorbell in between, or its tail was unknown: this one cannot chain
        -- its entries.
        if st.tail ~= prev or prev == '*' then st.broken = true end
        st.tail = id
        st.entries[#st.entries + 1] = id
        st.entries[#st.entries + 1] = p
        bell.bytes = bell.bytes + #p + #id + 2
        if string.find(p, nul, 1, true) then bell.names = true end
      end
    end
    len[s] = cur
  end
end
for _, s in ipairs(order) do redis.call('PEXPIRE', KEYS[s], ARGV[2]) end
for _, s in ipairs(stale) do redis.call('SET', KEYS[s] .. ':tail', last[s], 'KEEPTTL') end
for _, ch in ipairs(rung) do
  local bell = bells[ch]
  local parts = {}
  if bell.names or bell.bytes > limit then
    for j, st in ipairs(bell.list) do parts[j] = st.key end
    redis.call('PUBLISH', ch, table.concat(parts, ' '))
  else
    parts[1] = ''
    for _, st in ipairs(bell.list) do
      parts[#parts + 1] = st.key
      if st.broken then
        parts[#parts + 1] = '*'
        parts[#parts + 1] = '0'
      else
        parts[#parts + 1] = st.prev
        parts[#parts + 1] = tostring(#st.entries / 2)
        for _, v in ipairs(st.entries) do parts[#parts + 1] = v end
      end
    end
    redis.call('PUBLISH', ch, table.concat(parts, nul))
  end
end
return out
`)

// KEYS: streams, leases and epochs of the batch. ARGV: ttl ms, n, then per acknowledgement: stream index, lease index
// (0: none), epoch, token, min id kept. Answers per acknowledgement the entries removed, or 'fenced' / 'expired'.
const ACK_MANY = STREAMS.define('ack_many', [LUA_FENCE], `${LUA_FENCE_CACHE}
local n = tonumber(ARGV[2])
local out, trimmed, order = {}, {}, {}
for i = 0, n - 1 do
  local b = 2 + i * 5
  local s = tonumber(ARGV[b + 1])
  local l = tonumber(ARGV[b + 2])
  local lost = false
  if l > 0 then lost = fenced(l, ARGV[b + 3], ARGV[b + 4]) end
  if lost then
    out[i + 1] = lost
  else
    out[i + 1] = redis.call('XTRIM', KEYS[s], 'MINID', ARGV[b + 5])
    if not trimmed[s] then
      trimmed[s] = true
      order[#order + 1] = s
    end
  end
end
for _, s in ipairs(order) do redis.call('PEXPIRE', KEYS[s], ARGV[1]) end
return out
`)

const STREAM_ID = /^(\d{1,20})-(\d{1,20})$/

/** Checks a stream entry id (`<ms>-<seq>`). */
export function checkEntryId (name: string, id: unknown): string {
  if (typeof id !== 'string' || !STREAM_ID.test(id)) throw new InvalidArgumentError(name, 'a stream entry id like 1700000000000-0', describe(id))
  return id
}

/**
 * Orders two stream entry ids (`<ms>-<seq>`, as Redis writes them: no leading zeros): negative when `a` comes
 * first, 0 when equal, positive when `b` does.
 */
export function compareEntryIds (a: string, b: string): number {
  if (a === b) return 0
  const da = a.indexOf('-')
  const db = b.indexOf('-')
  if (da !== db) return da - db
  for (let i = 0; i < da; i++) {
    const d = a.charCodeAt(i) - b.charCodeAt(i)
    if (d !== 0) return d
  }
  const sa = a.length - da
  const sb = b.length - db
  if (sa !== sb) return sa - sb
  return a < b ? -1 : 1
}

/** The smallest entry id greater than `id`. */
function nextId (id: string): string {
  const [, ms, seq] = STREAM_ID.exec(id) as RegExpExecArray
  return `${ms as string}-${(BigInt(seq as string) + 1n).toString()}`
}

/** Checks a stream address. */
export function checkAddress (address: StreamAddress): StreamAddress {
  if (typeof address !== 'object' || address === null || (address.kind !== 'device' && address.kind !== 'node')) {
    throw new InvalidArgumentError('address', "{ kind: 'device' | 'node', id }", describe(address))
  }
  checkId('address.id', address.id)
  return address
}

/** `device:<id>` or `node:<id>`: how errors and logs name a stream. */
export function streamName (address: StreamAddress): string {
  return `${address.kind}:${address.id}`
}

function checkFence (fence: LeaseFence): void {
  checkId('fence.clientId', fence.clientId)
  if (!Number.isSafeInteger(fence.epoch) || fence.epoch < 1) throw new InvalidArgumentError('fence.epoch', 'a positive integer', describe(fence.epoch))
  checkId('fence.token', fence.token)
}

/** A call waiting for its turn's script. */
interface Pending<T> {
  readonly stream: StreamAddress
  readonly fence: LeaseFence | undefined
  readonly resolve: (value: T) => void
  readonly reject: (err: unknown) => void
}

interface PendingAppend extends Pending<unknown> {
  readonly payload: string
  /** The doorbell channel, or ''; for an append to a holder, the doorbell channel's prefix. */
  readonly channel: string
  /** An append to the holder of this client id. */
  readonly holder?: { readonly clientId: string, readonly except: string, readonly dataPrefix: string }
}

/** Records written with the appends of the turn (`SET ... PX`). */
interface PendingWrite {
  readonly records: ReadonlyArray<readonly [key: string, value: string]>
  readonly ttlMs: number
  readonly resolve: () => void
  readonly reject: (err: unknown) => void
}

interface PendingAck extends Pending<number> {
  /** The smallest id kept. */
  readonly minId: string
}

/** The KEYS of a batched script: each key once, 1-based indexes. */
class KeyList {
  readonly keys: string[] = []
  readonly #index = new Map<string, number>()

  add (key: string): number {
    let at = this.#index.get(key)
    if (at === undefined) {
      this.keys.push(key)
      at = this.keys.length
      this.#index.set(key, at)
    }
    return at
  }
}

/**
 * Durable delivery to a device or a node on Redis streams.
 *
 * - `append` adds an entry at the end of the stream. The appends made during one turn of the event loop go to
 *   Redis together, in one Lua script (per append: optional lease check, bound check, XADD; per stream: the TTL;
 *   per node: one doorbell PUBLISH naming the streams that got entries), so entries of one stream are in the order
 *   they were appended and a burst of appends costs one round trip.
 * - An entry stays until its reader acknowledges it with `ack` (explicit trimming with XTRIM MINID; the
 *   acknowledgements of one turn also go in one script), so whoever reads the stream next (the same node after a
 *   Redis blip, or a new node after a takeover) gets every entry that was not acknowledged. Nothing is dropped to
 *   make room: a full stream refuses appends.
 * - The doorbell wakes a {@link RedisStreamReader} up and carries the entries it announces (up to
 *   `maxDoorbellBytes`), with the id of the entry before them: the reader hands them over without reading the
 *   stream unless it missed an entry in between. A missed doorbell delays an entry by at most the reader's poll
 *   interval and never loses it: the stream stays the durable copy.
 */
export class RedisDeliveryLog implements DeliveryLog {
  readonly #redis: RedisConnection
  readonly #maxStreamLength: number
  readonly #streamTtlMs: number
  readonly #maxPayloadBytes: number
  readonly #maxDoorbellBytes: number
  readonly #appends: TurnBatch<PendingAppend | PendingWrite>
  readonly #acks: TurnBatch<PendingAck>

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
    this.#maxDoorbellBytes = optionCount('maxDoorbellBytes', options.maxDoorbellBytes, 65_536, 0)
    this.#appends = new TurnBatch(redis, (batch) => { this.#sendAppends(batch) }, MAX_BATCH)
    this.#acks = new TurnBatch(redis, (batch) => { this.#sendAcks(batch) }, MAX_BATCH)
  }

  /**
   * Appends `payload` to the stream; resolves with the entry's id. Appends of the same turn of the event loop are
   * sent together (in the order they were made).
   * @throws StreamFullError when the stream holds `maxStreamLength` entries; FencedError when `options.fence` no
   * longer holds; InvalidArgumentError, RedisUnavailableError, RedisCommandError
   */
  append (to: StreamAddress, payload: string, options: AppendOptions = {}): Promise<string> {
    // Not an async function: the caller's promise is the one the turn's script settles (a hop fewer per append); a
    // bad argument still rejects it rather than throwing.
    let channel: string
    try {
      checkAddress(to)
      this.#checkPayload(payload)
      channel = options.wake === undefined ? '' : this.#redis.keys.doorbell(checkId('wake', options.wake))
      if (options.fence !== undefined) checkFence(options.fence)
    } catch (err) {
      return Promise.reject(err)
    }
    return new Promise<string>((resolve, reject) => {
      this.#appends.add({ stream: to, payload, channel, fence: options.fence, resolve: resolve as (value: unknown) => void, reject })
    })
  }

  /**
   * Looks up the holder of `clientId` and, unless it is `options.except` or its lease's data does not start with
   * `options.dataPrefix`, appends `payload` to the stream and rings the holder's doorbell: one atomic step, sent with
   * the other appends of the turn (one round trip where a lookup then an append take two).
   * @throws StreamFullError when the stream is full; InvalidArgumentError, RedisUnavailableError, RedisCommandError
   */
  async appendToHolder (clientId: string, to: StreamAddress, payload: string, options: HolderAppendOptions = {}): Promise<HolderAppendOutcome> {
    checkId('clientId', clientId)
    checkAddress(to)
    this.#checkPayload(payload)
    const except = options.except ?? ''
    const dataPrefix = options.dataPrefix ?? ''
    if (typeof except !== 'string' || typeof dataPrefix !== 'string') throw new InvalidArgumentError('options', '{ except?: string, dataPrefix?: string }', describe(options))
    const channel = this.#redis.keys.doorbell('')
    const holder = { clientId, except, dataPrefix }
    const answer = await new Promise<unknown>((resolve, reject) => {
      this.#appends.add({ stream: to, payload, channel: channel.slice(0, -1), fence: undefined, holder, resolve, reject })
    })
    const reply = answer as [string, ...Array<string | number>]
    if (reply[0] === 'sent') return { appended: true, id: reply[1] as string, nodeId: reply[2] as string }
    if (reply[0] === 'absent') return { appended: false, holder: null }
    const [, node, epoch, acquired, renewed, data, ttl] = reply as [string, string, string, string, string, string, number]
    return { appended: false, holder: toRecord(clientId, [node, epoch, acquired, renewed, data], ttl) }
  }

  /**
   * Writes string keys (full Redis key names) with a TTL, in the script call of this turn's appends: no round trip
   * of their own when the turn appends too (a task's result and its TASK_END). Resolves once written.
   * @throws RedisUnavailableError, RedisCommandError
   */
  async writeWithAppends (records: ReadonlyArray<readonly [key: string, value: string]>, ttlMs: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#appends.add({ records, ttlMs, resolve, reject })
    })
  }

  #checkPayload (payload: unknown): void {
    if (typeof payload !== 'string') throw new InvalidArgumentError('payload', 'a string', describe(payload))
    // Byte length only matters near the bound: a string of n UTF-16 units takes at most 3n bytes.
    if (payload.length * 3 > this.#maxPayloadBytes) {
      const bytes = Buffer.byteLength(payload)
      if (bytes > this.#maxPayloadBytes) throw new InvalidArgumentError('payload', `at most ${this.#maxPayloadBytes} bytes`, `${bytes} bytes`)
    }
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
   * were removed. Acknowledgements of the same turn of the event loop are sent together.
   * @throws FencedError when `options.fence` no longer holds; InvalidArgumentError, RedisUnavailableError,
   * RedisCommandError
   */
  async ack (from: StreamAddress, id: string, options: { fence?: LeaseFence } = {}): Promise<number> {
    checkAddress(from)
    checkEntryId('id', id)
    if (options.fence !== undefined) checkFence(options.fence)
    return await new Promise<number>((resolve, reject) => {
      this.#acks.add({ stream: from, minId: nextId(id), fence: options.fence, resolve, reject })
    })
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

  /** The lease's keys in `list` (its epoch key right after it); 0 without a fence. */
  #fenceIndex (list: KeyList, fence: LeaseFence | undefined): number {
    if (fence === undefined) return 0
    const keys = this.#redis.keys
    const lease = keys.lease(fence.clientId)
    const epoch = keys.epoch(fence.clientId)
    // A lease key added earlier in the batch is always followed by its epoch key.
    const at = list.add(lease)
    list.add(epoch)
    return at
  }

  #sendAppends (items: Array<PendingAppend | PendingWrite>): void {
    const batch: PendingAppend[] = []
    const writes: PendingWrite[] = []
    for (const item of items) {
      if ('records' in item) writes.push(item)
      else batch.push(item)
    }
    let call: (client: Redis) => Promise<unknown>
    const one = batch.length === 1 ? batch[0] as PendingAppend : undefined
    const carry = one === undefined ? undefined : this.#carries(one.payload)
    if (one !== undefined && carry !== undefined && one.fence === undefined && (one.holder === undefined ? writes.length <= 1 : writes.length === 0)) {
      call = this.#appendOne(one, carry, writes[0])
    } else if (batch.length === 0) {
      call = this.#writeRecords(writes)
    } else {
      call = this.#appendMany(batch, writes)
    }
    this.#redis.run('stream.append', call).then((reply) => {
      for (const write of writes) write.resolve()
      const answers = reply as unknown[]
      for (let i = 0; i < batch.length; i++) {
        const append = batch[i] as PendingAppend
        const answer = answers[i]
        if (answer === 'full') append.reject(new StreamFullError(streamName(append.stream), this.#maxStreamLength))
        else if ((answer === 'fenced' || answer === 'expired') && append.fence !== undefined) append.reject(fencedError(append.fence, answer))
        else append.resolve(answer)
      }
    }, (err: unknown) => {
      for (const write of writes) write.reject(err)
      for (const append of batch) append.reject(err)
    })
  }

  /**
   * Whether a doorbell can carry an entry of this payload within `maxDoorbellBytes` (its id, 15 to 41 bytes, and two
   * NULs included): `false` when the payload holds a NUL or surely does not fit (the doorbell names the stream),
   * `undefined` when that depends on the id's length (the batched script, which knows it, decides).
   */
  #carries (payload: string): boolean | undefined {
    if (payload.includes('\0')) return false
    const limit = this.#maxDoorbellBytes
    if (payload.length * 3 + 43 <= limit) return true
    const bytes = Buffer.byteLength(payload)
    if (bytes + 43 <= limit) return true
    if (bytes + 17 > limit) return false
    return undefined
  }

  /** One append without a fence, and the records of at most one write (one without records for a holder's). */
  #appendOne (append: PendingAppend, carry: boolean, write: PendingWrite | undefined): (client: Redis) => Promise<unknown> {
    const stream = this.#redis.keys.stream(append.stream.kind, append.stream.id)
    const args: Array<string | number> = [carry ? this.#maxStreamLength : -this.#maxStreamLength, this.#streamTtlMs, append.payload, append.channel]
    const holder = append.holder
    if (holder !== undefined) {
      const keys = [stream, this.#redis.keys.lease(holder.clientId)]
      args.push(holder.except, holder.dataPrefix)
      return (client) => APPEND_HOLDER.run(client, keys, args)
    }
    const keys = [stream]
    if (write !== undefined) {
      args.push(write.ttlMs)
      for (const [key, value] of write.records) {
        keys.push(key)
        args.push(value)
      }
    }
    return (client) => APPEND_ONE.run(client, keys, args)
  }

  /**
   * The records of a turn that appends nothing: plain SETs (each write's records in order) when they are few, else
   * one script call. The SETs of a write are not atomic together: each is a whole record, and a reader of a record
   * and its pointer handles either one missing (as when one expired first).
   */
  #writeRecords (writes: PendingWrite[]): (client: Redis) => Promise<unknown> {
    let count = 0
    for (const write of writes) count += write.records.length
    if (count <= MAX_PLAIN_RECORDS) {
      return async (client) => {
        const sets: Array<Promise<unknown>> = []
        for (const write of writes) {
          for (const [key, value] of write.records) sets.push(client.set(key, value, 'PX', write.ttlMs))
        }
        return await Promise.all(sets)
      }
    }
    const keys: string[] = []
    const args: Array<string | number> = []
    for (const write of writes) {
      for (const [key, value] of write.records) {
        keys.push(key)
        args.push(value, write.ttlMs)
      }
    }
    return (client) => WRITE_RECORDS.run(client, keys, args)
  }

  #appendMany (batch: PendingAppend[], writes: PendingWrite[]): (client: Redis) => Promise<unknown> {
    const list = new KeyList()
    const args: Array<string | number> = [this.#maxStreamLength, this.#streamTtlMs, batch.length, this.#maxDoorbellBytes, 0]
    for (const append of batch) {
      const stream = list.add(this.#redis.keys.stream(append.stream.kind, append.stream.id))
      const fence = append.fence
      const holder = append.holder
      if (holder !== undefined) args.push(stream, -list.add(this.#redis.keys.lease(holder.clientId)), holder.except, holder.dataPrefix, append.payload, append.channel)
      else args.push(stream, this.#fenceIndex(list, fence), fence?.epoch ?? '', fence?.token ?? '', append.payload, append.channel)
    }
    let records = 0
    for (const write of writes) {
      for (const [key, value] of write.records) args.push(list.add(key), value, write.ttlMs)
      records += write.records.length
    }
    args[4] = records
    return (client) => APPEND_MANY.run(client, list.keys, args)
  }

  #sendAcks (batch: PendingAck[]): void {
    const list = new KeyList()
    const args: Array<string | number> = [this.#streamTtlMs, batch.length]
    for (const ack of batch) {
      const stream = list.add(this.#redis.keys.stream(ack.stream.kind, ack.stream.id))
      const fence = ack.fence
      args.push(stream, this.#fenceIndex(list, fence), fence?.epoch ?? '', fence?.token ?? '', ack.minId)
    }
    this.#redis.run('stream.ack', (client) => ACK_MANY.run(client, list.keys, args)).then((reply) => {
      const answers = reply as Array<number | string>
      for (let i = 0; i < batch.length; i++) {
        const ack = batch[i] as PendingAck
        const answer = answers[i]
        if (typeof answer === 'number') ack.resolve(answer)
        else ack.reject(fencedError(ack.fence, answer as LeaseLossReason))
      }
    }, (err: unknown) => {
      for (const ack of batch) ack.reject(err)
    })
  }
}

function fencedError (fence: LeaseFence | undefined, reason: LeaseLossReason): FencedError {
  const holder = fence as LeaseFence
  return new FencedError(holder.clientId, holder.epoch, reason)
}

/** An entry of an XRANGE / XREAD reply. */
export function toEntry ([id, fields]: [string, string[]]): DeliveryEntry {
  const at = fields.indexOf('p')
  return { id, payload: at === -1 ? '' : fields[at + 1] ?? '' }
}
