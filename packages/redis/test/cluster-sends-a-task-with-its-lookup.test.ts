import { randomUUID } from 'node:crypto'
import t from 'tap'
import type { ClusterClientRecord, ClusterMessage } from '@aip/device-server'
import { RedisCluster, RedisLeaseRegistry } from '../src/index.js'
import { redisServerOrSkip } from './helpers/redis-server.js'

const server = await redisServerOrSkip(t)

function record (clientId: string, clientType: 'device' | 'constellation'): ClusterClientRecord {
  return { clientId, clientType, targetId: null, platform: 'linux', systemInfo: null, registeredAt: 1 }
}

const cancel = (sessionId: string): ClusterMessage => ({ kind: 'cancel', sessionId, requesterId: 'galaxy', reason: 'cancelled' })

if (server !== undefined) {
  t.test('sendToHolder answers "not registered", "on this node", "not a device", or sends to the device\'s node', async (t) => {
    const keyPrefix = `h-${randomUUID().slice(0, 8)}:`
    const a = new RedisCluster({ url: server.url, keyPrefix, nodeId: 'node-a' })
    const b = new RedisCluster({ url: server.url, keyPrefix, nodeId: 'node-b' })
    t.teardown(async () => { await a.stop(); await b.stop() })
    await a.redis.waitReady({ timeoutMs: 10_000 })
    await b.redis.waitReady({ timeoutMs: 10_000 })
    t.match(await a.claim(record('dev-a', 'device'), 'if-absent'), { claimed: true })
    t.match(await a.claim(record('galaxy', 'constellation'), 'if-absent'), { claimed: true })
    t.match(await b.claim(record('dev-b', 'device'), 'if-absent'), { claimed: true })

    t.same(await b.sendToHolder('nobody', cancel('s1'), 'device'), { sent: false, holder: null }, 'not registered')
    t.match(await b.sendToHolder('dev-b', cancel('s2'), 'device'), { sent: false, holder: { clientId: 'dev-b', nodeId: 'node-b' } }, 'registered here')
    t.match(await b.sendToHolder('galaxy', cancel('s3'), 'device'), { sent: false, holder: { clientId: 'galaxy', nodeId: 'node-a', clientType: 'constellation' } }, 'not a device')
    t.same(await b.sendToHolder('dev-a', cancel('s4'), 'device'), { sent: true, nodeId: 'node-a' }, 'registered elsewhere: sent there')
    const entries = await a.redis.run('test.read', async (client) => await client.xrange(a.redis.keys.stream('device', 'dev-a'), '-', '+'))
    t.equal(entries.length, 1, 'one entry in the device\'s mailbox')
    t.same(JSON.parse(entries[0]?.[1][1] as string), cancel('s4'))
    t.equal((await a.redis.run('test.len', async (client) => await client.xlen(a.redis.keys.stream('device', 'galaxy')))), 0, 'nothing for the constellation')
  })

  t.test('a lease whose data another writer wrote in another order is still found, and the message sent', async (t) => {
    const keyPrefix = `h-${randomUUID().slice(0, 8)}:`
    const b = new RedisCluster({ url: server.url, keyPrefix, nodeId: 'node-b' })
    t.teardown(async () => { await b.stop() })
    await b.redis.waitReady({ timeoutMs: 10_000 })
    const leases = new RedisLeaseRegistry(b.redis)
    await leases.register('dev-x', { nodeId: 'node-a', data: { clientType: 'device', clientId: 'dev-x' } })
    t.same(await b.sendToHolder('dev-x', cancel('s5'), 'device'), { sent: true, nodeId: 'node-a' })
    t.equal(await b.redis.run('test.len', async (client) => await client.xlen(b.redis.keys.stream('device', 'dev-x'))), 1)
  })
}
