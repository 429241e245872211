import t from 'tap'
import { RedisDeliveryLog } from '../src/index.js'
import type { RedisConnection, StreamAddress } from '../src/index.js'
import { commandCalls, connect } from './helpers/common.js'
import { redisServerOrSkip } from './helpers/redis-server.js'

const server = await redisServerOrSkip(t)

const box: StreamAddress = { kind: 'device', id: 'device-1' }

interface Doorbells {
  /** The doorbells of node-a, as published, since the subscription was confirmed. */
  readonly bells: string[]
  /** Resolves once `count` doorbells were heard. */
  readonly rung: (count: number) => Promise<void>
}

async function listen (t: { teardown: (fn: () => unknown) => void }, redis: RedisConnection): Promise<Doorbells> {
  const bells: string[] = []
  const waiters: Array<{ count: number, resolve: () => void }> = []
  const heard = (message: string): void => {
    bells.push(message)
    for (const w of waiters.filter((w) => bells.length >= w.count)) w.resolve()
  }
  await new Promise<void>((resolve) => { t.teardown(redis.subscribe(redis.keys.doorbell('node-a'), heard, resolve)) })
  const rung = async (count: number): Promise<void> => {
    if (bells.length >= count) return
    await new Promise<void>((resolve) => waiters.push({ count, resolve }))
  }
  return { bells, rung }
}

/** The id of the entry before the ones a doorbell carries (`''`: the stream was empty). */
function previous (bell: string | undefined): string | undefined {
  return bell?.split('\0')[2]
}

if (server !== undefined) {
  t.test('an append reads its stream\'s length and the id before its entry without reading an entry: no XINFO STREAM, no XREVRANGE', async (t) => {
    const redis = await connect(t, server)
    const log = new RedisDeliveryLog(redis)
    const { bells, rung } = await listen(t, redis)
    const xinfo = await commandCalls(redis, 'xinfo|stream')
    const xrevrange = await commandCalls(redis, 'xrevrange')
    const first = await log.append(box, 'one', { wake: 'node-a' })
    const second = await log.append(box, 'two', { wake: 'node-a' })
    const [third, fourth] = await Promise.all([log.append(box, 'three', { wake: 'node-a' }), log.append(box, 'four', { wake: 'node-a' })])
    const fifth = await log.append(box, 'five', { wake: 'node-a' })
    t.equal(await commandCalls(redis, 'xrevrange'), xrevrange, 'no entry read back')
    t.equal(await commandCalls(redis, 'xinfo|stream'), xinfo, 'no XINFO STREAM')
    await rung(4)
    t.same(bells.map(previous), ['', first, second, fourth], 'each doorbell names the entry before the ones it carries')
    t.ok(bells[1]?.endsWith(`\0${second}\0two`))
    t.ok(bells[2]?.endsWith(`\0${third}\0three\0${fourth as string}\0four`), 'two appends of one call: one doorbell')
    t.ok(bells[3]?.endsWith(`\0${fifth}\0five`))
    const tail = `${redis.keys.stream(box.kind, box.id)}:tail`
    const ttl = await redis.run('test', async (client) => await client.pttl(tail))
    t.ok(ttl > 0, 'the tail key has the stream\'s TTL')
  })

  t.test('a stream emptied by its acknowledgement is empty again for the next append; the bound still counts', async (t) => {
    const redis = await connect(t, server)
    const log = new RedisDeliveryLog(redis, { maxStreamLength: 2 })
    const { bells, rung } = await listen(t, redis)
    await log.append(box, 'a', { wake: 'node-a' })
    const b = await log.append(box, 'b', { wake: 'node-a' })
    await t.rejects(log.append(box, 'c', { wake: 'node-a' }), { code: 'AIP_ERR_REDIS_STREAM_FULL' }, 'two entries: full')
    t.equal(await log.ack(box, b), 2)
    const d = await log.append(box, 'd', { wake: 'node-a' })
    await rung(3)
    t.equal(previous(bells[2]), '', 'its doorbell says the stream was empty')
    t.same((await log.read(box, '0-0')).map((e) => [e.id, e.payload]), [[d, 'd']])
  })

  t.test('a tail key gone while its stream holds entries: the doorbell names the stream, which the reader reads', async (t) => {
    const redis = await connect(t, server)
    const log = new RedisDeliveryLog(redis)
    const { bells, rung } = await listen(t, redis)
    await log.append(box, 'a', { wake: 'node-a' })
    const tail = `${redis.keys.stream(box.kind, box.id)}:tail`
    await redis.run('test', async (client) => await client.del(tail))
    const b = await log.append(box, 'b', { wake: 'node-a' })
    await rung(2)
    t.equal(bells[1], redis.keys.stream(box.kind, box.id), 'names the stream: the entry before is unknown')
    t.ok(await redis.run('test', async (client) => await client.pttl(tail)) > 0, 'the tail key is written again, with a TTL')
    const c = await log.append(box, 'c', { wake: 'node-a' })
    await rung(3)
    t.equal(previous(bells[2]), b, 'chained again')
    t.ok(bells[2]?.endsWith(`\0${c}\0c`))
  })
}
