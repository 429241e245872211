import { LUA_EXTEND_TTL, LUA_FENCE, LUA_NOW, LuaScript } from '../script.js'

/**
 * The cluster format of this version: how its nodes write mailbox entries, doorbells, notices and leases for each
 * other. Nodes of different formats cannot share a cluster (a key prefix): a node does not join while a live node of
 * another format is there (see {@link NODE_LEASE}). A version whose nodes cannot work with the previous version's
 * raises it; nodes of versions without one count as format 0.
 */
export const CLUSTER_FORMAT = 1

// KEYS: node key, live-node index, node formats. ARGV: token, lease ms, node id, cluster format.
// Writes (or re-creates, after a Redis restart) the node lease, its entry in the index of live nodes (scored by
// expiry) and its format (`<format>:<expiry>`, valid while the index holds that expiry: a node of a version without
// formats renews its index entry and not this). Answers {'held'}; {'taken'} when another process holds the id;
// {'format', node, format} without writing anything when the node is joining (not in the index) and a live node of
// another format is there; {'mixed', node, format} when such a node joined after this one (a version without
// formats does not check), the lease written.
export const NODE_LEASE = new LuaScript(`${LUA_NOW}${LUA_EXTEND_TTL}
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then return {'taken'} end
local ms = tonumber(ARGV[2])
for _, id in ipairs(redis.call('ZRANGE', KEYS[2], '-inf', now, 'BYSCORE')) do redis.call('HDEL', KEYS[3], id) end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local joining = not redis.call('ZSCORE', KEYS[2], ARGV[3])
local formats = {}
local all = redis.call('HGETALL', KEYS[3])
for i = 1, #all, 2 do formats[all[i]] = all[i + 1] end
local other = nil
local live = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
for i = 1, #live, 2 do
  local id = live[i]
  if id ~= ARGV[3] then
    local f = '0'
    local v = formats[id]
    local sep = v and string.find(v, ':', 1, true)
    if sep and tonumber(string.sub(v, sep + 1)) == tonumber(live[i + 1]) then f = string.sub(v, 1, sep - 1) end
    if f ~= ARGV[4] then
      if joining then return {'format', id, f} end
      other = other or {'mixed', id, f}
    end
  end
end
local expiry = now + ms
redis.call('SET', KEYS[1], ARGV[1], 'PX', ms)
redis.call('ZADD', KEYS[2], expiry, ARGV[3])
redis.call('HSET', KEYS[3], ARGV[3], ARGV[4] .. ':' .. string.format('%d', expiry))
extend_ttl(KEYS[2], ms)
extend_ttl(KEYS[3], ms)
return other or {'held'}
`)

// KEYS: node key, live-node index, node formats. ARGV: token, node id. Removes the node lease if this process holds
// it.
export const NODE_RELEASE = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[2])
  redis.call('HDEL', KEYS[3], ARGV[2])
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
