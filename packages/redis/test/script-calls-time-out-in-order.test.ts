import t from 'tap'
import { LuaScript } from '../src/script.js'
import { connect } from './helpers/common.js'
import { redisServerOrSkip } from './helpers/redis-server.js'

// A node's script calls share one timer for their timeouts (Redis answers in order): a call Redis does not answer in
// `commandTimeoutMs` fails as unavailable, the calls behind it too, and calls answered in time are not touched.

const server = await redisServerOrSkip(t)

const SCRIPT = new LuaScript('return ARGV[1]')

if (server !== undefined) {
  t.test('script calls Redis holds past the command timeout fail as unavailable; later calls go through', async (t) => {
    const redis = await connect(t, server, { commandTimeoutMs: 100 })
    const admin = await connect(t, server)
    const call = async (value: string): Promise<unknown> => await redis.run('test.script', (client) => SCRIPT.run(client, [], [value]))
    t.equal(await call('before'), 'before', 'answered in time')
    // Redis holds every client's commands for 1.5 s: the calls sent meanwhile are not answered within 100 ms.
    await admin.run('test.pause', async (client) => await client.client('PAUSE', 1500, 'ALL'))
    const held = await Promise.allSettled([call('first'), call('second')])
    t.match(held, [
      { status: 'rejected', reason: { code: 'AIP_ERR_REDIS_UNAVAILABLE' } },
      { status: 'rejected', reason: { code: 'AIP_ERR_REDIS_UNAVAILABLE' } }
    ], 'both time out')
    // Once Redis answers again (bounded: the pause ends after 1.5 s), calls are answered, in order, on the same connection.
    let answer: unknown
    for (let tries = 0; answer === undefined && tries < 100; tries++) answer = await call('after').catch(() => undefined)
    t.equal(answer, 'after')
    t.same(await Promise.all([call('a'), call('b'), call('c')]), ['a', 'b', 'c'], 'the late answers to the timed-out calls were not taken for these')
  })
}
