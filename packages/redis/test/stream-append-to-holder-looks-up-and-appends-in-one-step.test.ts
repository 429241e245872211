import t from 'tap'
import { RedisDeliveryLog, RedisStreamReader } from '../src/index.js'
import type { DeliveryEntry, StreamAddress } from '../src/index.js'
import { commandCalls as calls, connect, logAndLeases, scriptCalls } from './helpers/common.js'
import { redisServerOrSkip } from './helpers/redis-server.js'

const server = await redisServerOrSkip(t)

const box: StreamAddress = { kind: 'device', id: 'device-1' }
const devicePrefix = '{"clientId":"device-1","clientType":"device"'

if (server !== undefined) {
  t.test('no lease: "not registered", nothing appended', async (t) => {
    const redis = await connect(t, server)
    const log = new RedisDeliveryLog(redis)
    t.same(await log.appendToHolder('device-1', box, 'task', { except: 'node-b', dataPrefix: devicePrefix }), { appended: false, holder: null })
    t.equal(await log.length(box), 0)
  })

  t.test('held by another node: appended, that node woken with the entry, in one script call', async (t) => {
    const { redis, log, leases } = await logAndLeases(t, server)
    // A node id that must be encoded in its doorbell's channel, as the keys are.
    const nodeId = 'node a/ü'
    await leases.register('device-1', { nodeId, data: { clientId: 'device-1', clientType: 'device', platform: 'linux' } })
    const reader = new RedisStreamReader(redis, { nodeId, pollIntervalMs: 60_000 })
    t.teardown(async () => await reader.close())
    await new Promise<void>((resolve) => { t.teardown(redis.subscribe(redis.keys.doorbell(nodeId), () => {}, resolve)) })
    const got: DeliveryEntry[] = []
    const delivered = new Promise<void>((resolve) => {
      reader.follow(box, (entry) => { got.push(entry); resolve() }, { catchUp: false })
    })
    const scripts = await scriptCalls(redis)
    const pttl = await calls(redis, 'pttl')
    const outcome = await log.appendToHolder('device-1', box, 'task', { except: 'node-b', dataPrefix: devicePrefix })
    t.equal(await scriptCalls(redis) - scripts, 1, 'one script call')
    t.equal(await calls(redis, 'pttl'), pttl, 'no lookup of the lease (HMGET + PTTL) of its own')
    t.match(outcome, { appended: true, nodeId })
    await delivered
    t.same(got.map((e) => [e.id, e.payload]), [[(outcome as { id: string }).id, 'task']], 'the holder got it from its doorbell')
    t.equal(reader.carried, 1)
  })

  t.test('held by the node that asks: not appended, the holder returned', async (t) => {
    const { log, leases } = await logAndLeases(t, server)
    await leases.register('device-1', { nodeId: 'node-b', data: { clientId: 'device-1', clientType: 'device' } })
    const outcome = await log.appendToHolder('device-1', box, 'task', { except: 'node-b', dataPrefix: devicePrefix })
    t.match(outcome, { appended: false, holder: { clientId: 'device-1', nodeId: 'node-b', epoch: 1, data: { clientType: 'device' } } })
    t.ok((outcome as { holder: { expiresInMs: number } }).holder.expiresInMs > 0)
    t.equal(await log.length(box), 0)
  })

  t.test('held elsewhere by a client of another type: not appended, the holder returned', async (t) => {
    const { log, leases } = await logAndLeases(t, server)
    await leases.register('device-1', { nodeId: 'node-a', data: { clientId: 'device-1', clientType: 'constellation' } })
    const outcome = await log.appendToHolder('device-1', box, 'task', { except: 'node-b', dataPrefix: devicePrefix })
    t.match(outcome, { appended: false, holder: { nodeId: 'node-a', data: { clientType: 'constellation' } } })
    t.equal(await log.length(box), 0)
  })

  t.test('a full stream refuses the append to its holder', async (t) => {
    const { log, leases } = await logAndLeases(t, server, { maxStreamLength: 1 })
    await leases.register('device-1', { nodeId: 'node-a', data: { clientId: 'device-1', clientType: 'device' } })
    await log.append(box, 'first')
    await t.rejects(log.appendToHolder('device-1', box, 'task', { dataPrefix: devicePrefix }), { code: 'AIP_ERR_REDIS_STREAM_FULL' })
  })

  t.test('bad arguments are refused with a coded error', async (t) => {
    const redis = await connect(t, server)
    const log = new RedisDeliveryLog(redis)
    await t.rejects(log.appendToHolder('', box, 'x'), { code: 'AIP_ERR_REDIS_INVALID_ARGUMENT' })
    await t.rejects(log.appendToHolder('device-1', box, 'x', { except: 3 as unknown as string }), { code: 'AIP_ERR_REDIS_INVALID_ARGUMENT' })
    await t.rejects(log.appendToHolder('device-1', box, 42 as unknown as string), { code: 'AIP_ERR_REDIS_INVALID_ARGUMENT' })
  })
}
