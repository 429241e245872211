import t from 'tap'
import type { StreamAddress } from '../src/index.js'
import { pttl, resultsWithLog, scriptCalls } from './helpers/common.js'
import { redisServerOrSkip } from './helpers/redis-server.js'

const server = await redisServerOrSkip(t)

const box: StreamAddress = { kind: 'device', id: 'requester-1' }

interface Result { sessionId: string, taskName: string, status: string }

if (server !== undefined) {
  t.test('a result put in the turn of an append goes to Redis in the append\'s script call', async (t) => {
    const { redis, log, results } = await resultsWithLog<Result>(t, server)
    // The script loaded first (its first call may go as EVAL after a NOSCRIPT).
    await log.append(box, 'first')
    const scripts = await scriptCalls(redis)
    const record = { sessionId: 's-1', taskName: 'task-1', status: 'completed' }
    const [, id] = await Promise.all([results.put(record), log.append(box, 'task end', { wake: 'node-a' })])
    t.equal(await scriptCalls(redis) - scripts, 1, 'one script call for both')
    t.same(await results.getBySession('s-1'), record, 'the result is readable by its session')
    t.same(await results.getByTaskName('task-1'), record, 'and by its task name')
    t.same((await log.read(box, '0-0')).map((e) => e.payload), ['first', 'task end'], 'the entry is appended')
    t.type(id, 'string')
    const ttl = await pttl(redis, redis.keys.record('result', 's-1'))
    t.ok(ttl > 0 && ttl <= 60_000, 'the result keeps its TTL')
  })

  t.test('a result put alone is written by itself, with its TTL', async (t) => {
    const { redis, results } = await resultsWithLog<Result>(t, server)
    const record = { sessionId: 's-2', taskName: 'task-2', status: 'failed' }
    await results.put(record)
    t.same(await results.getBySession('s-2'), record)
    const ttl = await pttl(redis, redis.keys.record('result-name', 'task-2'))
    t.ok(ttl > 0 && ttl <= 60_000, 'its task-name pointer has the TTL too')
  })
}
