import t from 'tap'
import { encodeCommand } from '../src/connection.js'
import { connect } from './helpers/common.js'
import { redisServerOrSkip } from './helpers/redis-server.js'

// A script call, a SET or a PUBLISH with plain arguments (strings and numbers) is written as its RESP text built once;
// Redis reads it as ioredis would have written it. Arguments of other kinds (a Buffer, an array, a callback) go through ioredis.

const ECHO = 'return {KEYS[1], ARGV[1], ARGV[2], ARGV[3]}'

t.test('the RESP text of a command: its arguments counted in bytes, numbers as their decimal text', async (t) => {
  t.equal(encodeCommand('evalsha', ['a1', 1, 'k', 'é', 1.5, -3]), '*7\r\n$7\r\nevalsha\r\n$2\r\na1\r\n$1\r\n1\r\n$1\r\nk\r\n$2\r\né\r\n$3\r\n1.5\r\n$2\r\n-3\r\n')
  t.equal(encodeCommand('fcall', []), '*1\r\n$5\r\nfcall\r\n')
  t.equal(encodeCommand('evalsha', ['a', Buffer.from('b')]), null, 'a Buffer is left to ioredis')
  t.equal(encodeCommand('evalsha', ['a', ['b']]), null, 'an array too')
  t.equal(encodeCommand('evalsha', ['a', 2 ** 60]), null, 'and an integer past the safe range (ioredis writes its digits)')
})

const server = await redisServerOrSkip(t)

if (server !== undefined) {
  t.test('a script call with plain arguments reaches Redis as ioredis would write it', async (t) => {
    const redis = await connect(t, server)
    const sha = await redis.run('test.load', async (client) => await client.script('LOAD', ECHO)) as string
    const reply = await redis.run('test.call', async (client) => await client.evalsha(sha, 1, 'key-ü', 'text with\r\nlines', 42, ''))
    t.same(reply, ['key-ü', 'text with\r\nlines', '42', ''], 'strings (multi-byte, with line breaks, empty) and numbers')
  })

  t.test('arguments ioredis must convert, and a callback, still go through ioredis', async (t) => {
    const redis = await connect(t, server)
    const sha = await redis.run('test.load', async (client) => await client.script('LOAD', ECHO)) as string
    const withBuffer = await redis.run('test.call', async (client) => await client.evalsha(sha, 1, Buffer.from('k'), 'v', 2 ** 60, 'w'))
    t.same(withBuffer, ['k', 'v', '1152921504606846976', 'w'])
    const withCallback = await redis.run('test.call', async (client) => await new Promise((resolve, reject) => {
      client.evalsha(sha, 1, 'k', 'v', 'x', 'y', (err, result) => { if (err === null || err === undefined) resolve(result); else reject(err) })
    }))
    t.same(withCallback, ['k', 'v', 'x', 'y'])
  })

  t.test('a SET and a PUBLISH with plain arguments are written as built, and answer as ioredis answers them', async (t) => {
    const redis = await connect(t, server)
    const key = redis.keys.record('test', 'k')
    t.equal(await redis.run('test.set', async (client) => await client.set(key, 'välue\r\n', 'PX', 60_000)), 'OK')
    t.equal(await redis.run('test.set', async (client) => await client.set(key, 'next', 'GET')), 'välue\r\n', 'SET ... GET answers the old value')
    t.equal(await redis.run('test.set', async (client) => await client.set(key, 'never', 'NX')), null, 'SET ... NX on a key held answers nothing')
    t.equal(await redis.run('test.get', async (client) => await client.get(key)), 'next')
    const channel = redis.keys.doorbell('n-test')
    let onSubscribed = (): void => {}
    const subscribed = new Promise<void>((resolve) => { onSubscribed = resolve })
    const received = new Promise<string>((resolve) => { redis.subscribe(channel, resolve, () => { onSubscribed() }) })
    await subscribed
    const count = await redis.run('test.publish', async (client) => await client.publish(channel, 'hello 7'))
    t.equal(count, 1, 'PUBLISH answers its receivers')
    t.equal(await received, 'hello 7')
  })

  t.test('an unknown script answers NOSCRIPT as before, with the command it refused', async (t) => {
    const redis = await connect(t, server)
    await t.rejects(redis.run('test.call', async (client) => await client.evalsha('0'.repeat(40), 0)), {
      code: 'AIP_ERR_REDIS_COMMAND',
      cause: { message: /^NOSCRIPT/, command: { name: 'evalsha', args: ['0'.repeat(40), 0] } }
    })
  })
}
