import t from 'tap'
import { RedisDeliveryLog } from '../src/index.js'
import type { StreamAddress } from '../src/index.js'
import { commandCalls, connect } from './helpers/common.js'
import { redisServerOrSkip } from './helpers/redis-server.js'

const server = await redisServerOrSkip(t)

const box: StreamAddress = { kind: 'device', id: 'device-1' }

/** The names of the libraries of Redis functions loaded on the server. */
async function libraries (redis: Awaited<ReturnType<typeof connect>>): Promise<string[]> {
  const list = await redis.run('test', async (client) => await client.function('LIST')) as unknown[][]
  return list.map((entry) => entry[entry.indexOf('library_name') + 1] as string)
}

if (server !== undefined) {
  t.test('the delivery log\'s scripts are loaded once as a library of Redis functions and called with FCALL', async (t) => {
    const redis = await connect(t, server)
    const log = new RedisDeliveryLog(redis)
    const fcalls = await commandCalls(redis, 'fcall')
    const evals = await commandCalls(redis, 'evalsha') + await commandCalls(redis, 'eval')
    const first = await log.append(box, 'one')
    const second = await log.append(box, 'two', { wake: 'node-a' })
    t.equal(await log.ack(box, second), 2)
    t.match(await libraries(redis), [/^aip_[0-9a-f]{12}$/], 'one library, named by its code\'s digest')
    t.equal(await commandCalls(redis, 'fcall') - fcalls, 4, 'each call an FCALL (the first one failed: not loaded yet)')
    t.equal(await commandCalls(redis, 'function|load'), 1, 'loaded once')
    t.equal(await commandCalls(redis, 'evalsha') + await commandCalls(redis, 'eval'), evals, 'no EVAL script')
    t.not(first, second)
  })

  t.test('a library gone from Redis (a restart without persistence, FUNCTION FLUSH) is loaded again by the next call', async (t) => {
    const redis = await connect(t, server)
    const log = new RedisDeliveryLog(redis)
    await log.append(box, 'one')
    await redis.run('test', async (client) => await client.function('FLUSH'))
    t.same(await libraries(redis), [])
    const id = await log.append(box, 'two')
    t.same((await log.read(box, '0-0')).map((e) => e.payload), ['one', 'two'])
    t.match(id, /^\d+-\d+$/)
    t.equal((await libraries(redis)).length, 1, 'loaded again')
  })

  t.test('a connection Redis refuses FUNCTION and FCALL runs the same scripts with EVAL', async (t) => {
    const admin = await connect(t, server)
    const user = `no-functions-${Date.now()}`
    await admin.run('test', async (client) => await client.call('ACL', 'SETUSER', user, 'on', '>secret', '~*', '&*', '+@all', '-function', '-fcall', '-fcall_ro'))
    t.teardown(async () => { await admin.run('test', async (client) => await client.call('ACL', 'DELUSER', user)) })
    await admin.run('test', async (client) => await client.function('FLUSH'))
    const redis = await connect(t, server, { url: server.url.replace('redis://', `redis://${user}:secret@`) })
    const log = new RedisDeliveryLog(redis)
    const evals = await commandCalls(admin, 'evalsha') + await commandCalls(admin, 'eval')
    const a = await log.append(box, 'a', { wake: 'node-a' })
    const b = await log.append(box, 'b', { wake: 'node-a' })
    t.equal(await log.ack(box, b), 2)
    t.ok(await commandCalls(admin, 'evalsha') + await commandCalls(admin, 'eval') - evals >= 3, 'EVAL scripts')
    t.same(await libraries(admin), [], 'nothing loaded')
    t.not(a, b)
  })
}
