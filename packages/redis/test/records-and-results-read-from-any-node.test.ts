import t from 'tap'
import { RedisRecordStore, RedisResultStore } from '../src/index.js'
import { connect, eventually } from './helpers/common.js'
import { redisServerOrSkip } from './helpers/redis-server.js'

const server = await redisServerOrSkip(t)

interface Result { sessionId: string, taskName: string, status: string }

if (server !== undefined) {
  t.test('a session record written on one node is read, touched and deleted from another', async (t) => {
    const nodeA = await connect(t, server)
    const nodeB = await connect(t, server, { keyPrefix: nodeA.keys.prefix })
    const a = new RedisRecordStore<{ device: string }>(nodeA, { namespace: 'session' })
    const b = new RedisRecordStore<{ device: string }>(nodeB, { namespace: 'session' })
    t.equal(a.namespace, 'session')
    await a.put('s1', { device: 'd1' })
    t.same(await b.get('s1'), { device: 'd1' })
    t.equal(await b.touch('s1', 60_000), true)
    t.equal(await b.touch('missing'), false)
    t.equal(await b.delete('s1'), true)
    t.equal(await a.get('s1'), undefined)
    t.equal(await a.delete('s1'), false)
    const tasks = new RedisRecordStore<{ device: string }>(nodeA, { namespace: 'task' })
    await a.put('same-id', { device: 'session' })
    await tasks.put('same-id', { device: 'task' })
    t.same(await a.get('same-id'), { device: 'session' }, 'namespaces are apart')
  })

  t.test('a record expires after its TTL', async (t) => {
    const redis = await connect(t, server)
    const records = new RedisRecordStore<number>(redis, { namespace: 'task' })
    await records.put('short', 1, { ttlMs: 50 })
    await records.put('long', 2)
    t.ok(await eventually(async () => await records.get('short') === undefined), 'gone after its TTL')
    t.equal(await records.get('long'), 2)
  })

  t.test('results are readable from any node by session and by latest task name, for a bounded time', async (t) => {
    const nodeA = await connect(t, server)
    const nodeB = await connect(t, server, { keyPrefix: nodeA.keys.prefix })
    const a = new RedisResultStore<Result>(nodeA, { ttlMs: 60_000 })
    const b = new RedisResultStore<Result>(nodeB)
    await a.put({ sessionId: 's1', taskName: 'build', status: 'completed' })
    await a.put({ sessionId: 's2', taskName: 'build', status: 'failed' })
    t.same(await b.getBySession('s1'), { sessionId: 's1', taskName: 'build', status: 'completed' })
    t.same(await b.getByTaskName('build'), { sessionId: 's2', taskName: 'build', status: 'failed' }, 'the latest of that name')
    t.equal(await b.getByTaskName('deploy'), undefined)
    const ttl = await nodeA.run('test.pttl', async (client) => await client.pttl(nodeA.keys.record('result', 's1')))
    t.ok(ttl > 0 && ttl <= 60_000, 'kept for the configured time')
  })

  t.test('bad records and options are refused with coded errors', async (t) => {
    const redis = await connect(t, server)
    t.throws(() => new RedisRecordStore(redis, { namespace: 'Bad Name' }), { code: 'AIP_ERR_REDIS_INVALID_OPTION' })
    t.throws(() => new RedisResultStore(redis, { ttlMs: -1 }), { code: 'AIP_ERR_REDIS_INVALID_OPTION' })
    const records = new RedisRecordStore<unknown>(redis, { namespace: 'session', maxRecordBytes: 10 })
    await t.rejects(records.put('a', 'x'.repeat(20)), { code: 'AIP_ERR_REDIS_INVALID_ARGUMENT' })
    await t.rejects(records.put('a', undefined), { code: 'AIP_ERR_REDIS_INVALID_ARGUMENT' })
    await t.rejects(records.put('a', 1, { ttlMs: 0 }), { code: 'AIP_ERR_REDIS_INVALID_ARGUMENT' })
    await t.rejects(records.get(''), { code: 'AIP_ERR_REDIS_INVALID_ARGUMENT' })
    await t.rejects(records.put('a', 1, { fence: { clientId: 'd', epoch: -1, token: 't' } }), { code: 'AIP_ERR_REDIS_INVALID_ARGUMENT' })
    const results = new RedisResultStore<Result>(redis, { maxRecordBytes: 10 })
    await t.rejects(results.put({ sessionId: 's', taskName: 't', status: 'completed' }), { code: 'AIP_ERR_REDIS_INVALID_ARGUMENT' })
    await t.rejects(results.put({ sessionId: '', taskName: 't', status: 'x' }), { code: 'AIP_ERR_REDIS_INVALID_ARGUMENT' })
    await t.rejects(results.put(null as unknown as Result), { code: 'AIP_ERR_REDIS_INVALID_ARGUMENT' })
  })

  t.test('a key of the wrong type under the prefix is a RedisCommandError, not an outage', async (t) => {
    const redis = await connect(t, server)
    await redis.run('test.corrupt', async (client) => await client.hset(redis.keys.record('session', 's1'), 'f', 'v'))
    const records = new RedisRecordStore<number>(redis, { namespace: 'session' })
    await t.rejects(records.get('s1'), { code: 'AIP_ERR_REDIS_COMMAND', operation: 'session.get' })
  })
}
