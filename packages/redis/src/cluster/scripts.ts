import { LUA_EXTEND_TTL, LUA_FENCE, LUA_NOW, LuaScript } from '../script.js'

// KEYS: node key, live-node index. ARGV: token, lease ms, node id.
// Writes (or re-creates, after a Redis restart) the node lease and its entry in the index of live nodes (scored by
// expiry); answers 'taken' when another process holds the id.
export const NODE_LEASE = new LuaScript(`${LUA_NOW}${LUA_EXTEND_TTL}
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then return 'taken' end
local ms = tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ms)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('ZADD', KEYS[2], now + ms, ARGV[3])
extend_ttl(KEYS[2], ms)
return 'held'
`)

// KEYS: node key, live-node index. ARGV: token, node id. Removes the node lease if this process holds it.
export const NODE_RELEASE = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[2])
  return 1
end
return 0
`)

// KEYS: live-node index. Drops the nodes past their expiry, returns the others.
export const LIVE_NODES = new LuaScript(`${LUA_NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZRANGE', KEYS[1], 0, -1)
`)

// KEYS: lease, epoch. ARGV: epoch, token, data. Replaces the data of a lease its holder still holds.
export const LEASE_DATA = new LuaScript(`${LUA_FENCE}
local lost = fence(KEYS[1], KEYS[2], ARGV[1], ARGV[2])
if lost then return lost end
redis.call('HSET', KEYS[1], 'data', ARGV[3])
return 'held'
`)
