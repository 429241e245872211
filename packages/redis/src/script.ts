import { createHash } from 'node:crypto'
import type { Redis } from 'ioredis'

/**
 * A Lua script run with EVALSHA, falling back to EVAL when the server does not know it yet (after a restart or a
 * SCRIPT FLUSH). A script runs atomically: no other command runs between its reads and its writes.
 */
export class LuaScript {
  readonly #lua: string
  readonly #sha: string

  constructor (lua: string) {
    this.#lua = lua
    this.#sha = createHash('sha1').update(lua).digest('hex')
  }

  /**
   * Runs the script with `keys` as KEYS and `args` as ARGV. (The client's own promise, chained once for the
   * fallback: no async frame of its own, one promise hop fewer per call.)
   */
  run (client: Redis, keys: string[], args: Array<string | number>): Promise<unknown> {
    return client.evalsha(this.#sha, keys.length, ...keys, ...args).catch(async (err: unknown) => {
      if (!isNoScript(err)) throw err
      return await client.eval(this.#lua, keys.length, ...keys, ...args)
    })
  }
}

function isNoScript (err: unknown): boolean {
  return err instanceof Error && err.name === 'ReplyError' && err.message.startsWith('NOSCRIPT')
}

/** Lua that sets `now` to Redis's clock in milliseconds, so that no node's clock matters. */
export const LUA_NOW = "local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"

/** Lua that gives key `k` a TTL of at least `ms` (a key without a TTL gets one). */
export const LUA_KEEP_TTL = "local function keep_ttl(k, ms) if redis.call('PTTL', k) < ms then redis.call('PEXPIRE', k, ms) end end\n"

/**
 * Lua that gives key `k` a TTL of at least `ms`, like `keep_ttl`, in one command where the key's TTL is shorter
 * (an index every registration and renewal pushes on: its usual case) and two where it is longer or missing:
 * `PEXPIRE ... GT` (Redis 7), then `NX` for a key without a TTL.
 */
export const LUA_EXTEND_TTL = "local function extend_ttl(k, ms) if redis.call('PEXPIRE', k, ms, 'GT') == 0 then redis.call('PEXPIRE', k, ms, 'NX') end end\n"

/**
 * Lua function `fence(lease_key, epoch_key, epoch, token)`: `nil` when that epoch and token hold the lease,
 * otherwise `'fenced'` (a later registration exists) or `'expired'` (the lease ran out and nobody registered
 * since).
 */
export const LUA_FENCE = `local function fence(lk, ek, epoch, token)
  local cur = redis.call('HMGET', lk, 'epoch', 'token')
  if cur[1] == epoch and cur[2] == token then return nil end
  if not cur[1] then
    if tonumber(redis.call('GET', ek) or '0') > tonumber(epoch) then return 'fenced' end
    return 'expired'
  end
  return 'fenced'
end
`
