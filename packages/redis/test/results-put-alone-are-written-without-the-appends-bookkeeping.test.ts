import t from 'tap'
import { RedisDeliveryLog, RedisResultStore } from '../src/index.js'
import { connect, scriptCalls } from './helpers/common.js'
import { redisServerOrSkip } from './helpers/redis-server.js'

const server = await redisServerOrSkip(t)

interface Result { sessionId: string, taskName: string, status: string }

if (server !== undefined) {
  t.test('results put in a turn that appends nothing cost one call of the records function: their SETs and nothing else', async (t) => {
    const redis = await connect(t, server)
    const log = new RedisDeliveryLog(redis)
    const results = new RedisResultStore<Result>(redis, { deliveryLog: log, ttlMs: 60_000 })
    await results.put({ sessionId: 's-0', taskName: 'task-0', status: 'completed' }) // the library loaded
    // Every command Redis runs from now on, as MONITOR shows them (those of scripts included).
    const monitor = await redis.run('test.monitor', async (client) => await client.monitor())
    t.teardown(() => { monitor.disconnect() })
    const seen: string[][] = []
    monitor.on('monitor', (_time: string, args: string[]) => { seen.push(args) })
    await redis.run('test.mark', async (client) => await client.echo('start'))
    const scripts = await scriptCalls(redis)
    const first = { sessionId: 's-1', taskName: 'task-1', status: 'completed' }
    const second = { sessionId: 's-2', taskName: 'task-2', status: 'failed' }
    await Promise.all([results.put(first), results.put(second)])
    await redis.run('test.mark', async (client) => await client.echo('end'))
    t.equal(await scriptCalls(redis) - scripts, 1, 'one script call for the turn\'s two results')
    for (let i = 0; i < 100 && !seen.some((args) => args[0]?.toLowerCase() === 'echo' && args[1] === 'end'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    const start = seen.findIndex((args) => args[1] === 'start')
    const end = seen.findIndex((args) => args[1] === 'end')
    const window = seen.slice(start + 1, end).filter((args) => !/^(info)$/i.test(args[0] ?? ''))
    const call = window.find((args) => /^fcall/i.test(args[0] ?? ''))
    t.match(call?.[1], /_write_records$/, 'the records function')
    t.same(window.filter((args) => !/^fcall/i.test(args[0] ?? '')).map((args) => [args[0]?.toUpperCase(), args[1]?.slice(redis.keys.prefix.length)]), [
      ['SET', 'result:{s-1}'], ['SET', 'result-name:{task-1}'], ['SET', 'result:{s-2}'], ['SET', 'result-name:{task-2}']
    ], 'each record written once, with its task-name pointer, nothing else')
    t.same(await results.getBySession('s-2'), second)
    t.same(await results.getByTaskName('task-1'), first)
    const ttl = await redis.run('test.pttl', async (client) => await client.pttl(redis.keys.record('result-name', 'task-2')))
    t.ok(ttl > 0 && ttl <= 60_000, 'with their TTL')
  })
}
