import t from 'tap'
import type { RedisConnection } from '../src/index.js'
import { pttl, resultsWithLog, scriptCalls } from './helpers/common.js'
import { redisServerOrSkip } from './helpers/redis-server.js'

const server = await redisServerOrSkip(t)

interface Result { sessionId: string, taskName: string, status: string }

/** The commands Redis runs (those of scripts included, as MONITOR shows them) while `work` runs. */
async function commandsOf (t: { teardown: (fn: () => unknown) => void }, redis: RedisConnection, work: () => Promise<unknown>): Promise<string[][]> {
  const monitor = await redis.run('test.monitor', async (client) => await client.monitor())
  t.teardown(() => { monitor.disconnect() })
  const seen: string[][] = []
  const ended = new Promise<void>((resolve) => {
    monitor.on('monitor', (_time: string, args: string[]) => {
      seen.push(args)
      if (args[0]?.toLowerCase() === 'echo' && args[1] === 'end') resolve()
    })
  })
  await redis.run('test.mark', async (client) => await client.echo('start'))
  await work()
  await redis.run('test.mark', async (client) => await client.echo('end'))
  await ended
  const start = seen.findIndex((args) => args[1] === 'start')
  const end = seen.findIndex((args) => args[1] === 'end')
  return seen.slice(start + 1, end).filter((args) => !/^info$/i.test(args[0] ?? ''))
}

/** The commands other than script calls, as [name, key without the prefix]. */
function named (redis: RedisConnection, commands: string[][]): string[][] {
  return commands.filter((args) => !/^fcall/i.test(args[0] ?? '')).map((args) => [args[0]?.toUpperCase() ?? '', args[1]?.slice(redis.keys.prefix.length) ?? ''])
}

if (server !== undefined) {
  t.test('a turn\'s one result that appends nothing is written as two plain SETs, no script call', async (t) => {
    const { redis, results } = await resultsWithLog<Result>(t, server)
    const scripts = await scriptCalls(redis)
    const first = { sessionId: 's-1', taskName: 'task-1', status: 'completed' }
    const commands = await commandsOf(t, redis, async () => { await results.put(first) })
    t.equal(await scriptCalls(redis) - scripts, 0, 'no script call')
    t.same(named(redis, commands), [['SET', 'result:{s-1}'], ['SET', 'result-name:{task-1}']], 'the record written once, before its task-name pointer, nothing else')
    t.same(await results.getBySession('s-1'), first)
    t.same(await results.getByTaskName('task-1'), first)
    const ttl = await pttl(redis, redis.keys.record('result-name', 'task-1'))
    t.ok(ttl > 0 && ttl <= 60_000, 'with their TTL')
  })

  t.test('a turn of several results that append nothing costs one call of the records function', async (t) => {
    const { redis, results } = await resultsWithLog<Result>(t, server)
    const many = [0, 1].map((i) => ({ sessionId: `s-${i}`, taskName: `task-${i}`, status: 'completed' }))
    // The library loaded first, so that the window holds the call alone.
    await Promise.all(many.map(async (result) => await results.put({ ...result, sessionId: `${result.sessionId}-w` })))
    const scripts = await scriptCalls(redis)
    const commands = await commandsOf(t, redis, async () => await Promise.all(many.map(async (result) => await results.put(result))))
    t.equal(await scriptCalls(redis) - scripts, 1, 'one script call for the turn\'s two results')
    t.match(commands.find((args) => /^fcall/i.test(args[0] ?? ''))?.[1], /_write_records$/, 'the records function')
    t.same(named(redis, commands), many.flatMap((result) => [['SET', `result:{${result.sessionId}}`], ['SET', `result-name:{${result.taskName}}`]]), 'its SETs and nothing else')
    t.same(await results.getByTaskName('task-1'), many[1])
  })
}
