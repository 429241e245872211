import { LUA_FENCE, LuaScript } from '../script.js'

// KEYS: node key, live-node index. ARGV: token, lease ms, node id.
// Writes (or re-creates, after a Redis restart) the node lease; answers 'taken' when another process holds the id.
export const NODE_LEASE = new LuaScript(`
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then return 'taken' end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 'held'
`)

// KEYS: node key. ARGV: token. Removes the node lease if this process holds it.
export const NODE_RELEASE = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end
return 0
`)

// KEYS: lease, epoch. ARGV: epoch, token, data. Replaces the data of a lease its holder still holds.
export const LEASE_DATA = new LuaScript(`${LUA_FENCE}
local lost = fence(KEYS[1], KEYS[2], ARGV[1], ARGV[2])
if lost then return lost end
redis.call('HSET', KEYS[1], 'data', ARGV[3])
return 'held'
`)
