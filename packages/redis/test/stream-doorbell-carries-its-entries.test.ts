import t, { type Test as TapTest } from 'tap'
import { RedisDeliveryLog, RedisStreamReader } from '../src/index.js'
import type { RedisConnection, StreamAddress } from '../src/index.js'
import { commandCalls, connect } from './helpers/common.js'
import { redisServerOrSkip } from './helpers/redis-server.js'

const server = await redisServerOrSkip(t)

interface Test { teardown: (fn: () => unknown) => void }

const box: StreamAddress = { kind: 'device', id: 'device-1' }

interface Rig {
  log: RedisDeliveryLog
  reader: RedisStreamReader
  got: string[]
  /** Resolves once `count` payloads were handed over in all. */
  handed: (count: number) => Promise<void>
  /** The doorbell messages seen so far. */
  bells: string[]
  channel: string
  sender: RedisConnection
}

/** A reader of node-a following device-1 with a one-minute poll, its doorbell confirmed, and a log on another connection. */
async function rig (t: Test, maxDoorbellBytes?: number): Promise<Rig> {
  const redis = await connect(t, server as NonNullable<typeof server>)
  const sender = await connect(t, server as NonNullable<typeof server>, { keyPrefix: redis.keys.prefix })
  const log = new RedisDeliveryLog(sender, maxDoorbellBytes === undefined ? {} : { maxDoorbellBytes })
  // A one-minute poll: only a doorbell (or a read it causes) can deliver within the test.
  const reader = new RedisStreamReader(redis, { nodeId: 'node-a', pollIntervalMs: 60_000 })
  t.teardown(async () => await reader.close())
  const got: string[] = []
  const waiters: Array<{ count: number, resolve: () => void }> = []
  reader.follow(box, (entry) => {
    got.push(entry.payload)
    for (const w of waiters.filter((w) => got.length >= w.count)) w.resolve()
  })
  const handed = async (count: number): Promise<void> => {
    if (got.length >= count) return
    await new Promise<void>((resolve) => waiters.push({ count, resolve }))
  }
  const channel = redis.keys.doorbell('node-a')
  const bells: string[] = []
  await new Promise<void>((resolve) => {
    const off = redis.subscribe(channel, (message) => bells.push(message), resolve)
    t.teardown(off)
  })
  // The reads the subscription starts are done once the first entry is handed over.
  await log.append(box, 'first', { wake: 'node-a' })
  await handed(1)
  return { log, reader, got, handed, bells, channel, sender }
}

/** Appends `payload` (after the rig's first entry): its doorbell names the stream, and the reader reads it. */
async function deliveredByName (t: TapTest, { log, reader, got, handed, bells }: Rig, payload: string): Promise<void> {
  const carried = reader.carried
  await log.append(box, payload, { wake: 'node-a' })
  await handed(2)
  t.equal(got[1], payload, 'delivered intact')
  t.notOk(bells.at(-1)?.startsWith('\0'), 'a doorbell naming the stream')
  t.equal(reader.carried, carried, 'not carried by the doorbell')
}

if (server !== undefined) {
  t.test('the woken reader hands over the entries its doorbell carries without reading the stream', async (t) => {
    const { log, reader, got, handed, sender } = await rig(t)
    const reads = reader.reads
    const xreads = await commandCalls(sender, 'xread')
    const carried = reader.carried
    for (let i = 0; i < 10; i++) {
      await log.append(box, `entry-${i}`, { wake: 'node-a' })
      await handed(2 + i)
    }
    t.same(got.slice(1), Array.from({ length: 10 }, (_, i) => `entry-${i}`), 'in order, once each')
    t.equal(reader.carried - carried, 10, 'every entry came in its doorbell')
    t.equal(reader.reads, reads, 'the reader read nothing')
    t.equal(await commandCalls(sender, 'xread'), xreads, 'redis-server ran no XREAD')
  })

  t.test('the entries of one turn ride one doorbell, in order', async (t) => {
    const { log, reader, got, handed, bells } = await rig(t)
    const reads = reader.reads
    const rung = bells.length
    await Promise.all(['a', 'b', 'c'].map(async (p) => await log.append(box, p, { wake: 'node-a' })))
    await handed(4)
    t.same(got, ['first', 'a', 'b', 'c'])
    t.equal(bells.length - rung, 1, 'one doorbell')
    t.equal(reader.reads, reads, 'no read')
  })

  t.test('an entry whose doorbell was lost is read from the stream before the next doorbell\'s entries', async (t) => {
    const { log, reader, got, handed } = await rig(t)
    const reads = reader.reads
    await log.append(box, 'quiet') // no doorbell: the next doorbell's entry does not follow what the reader holds
    await log.append(box, 'loud', { wake: 'node-a' })
    await handed(3)
    t.same(got, ['first', 'quiet', 'loud'], 'nothing lost, in order, once each')
    t.ok(reader.reads > reads, 'the gap was read from the stream')
  })

  t.test('doorbells repeated or out of order hand nothing over twice', async (t) => {
    const { log, got, handed, bells, channel, sender } = await rig(t)
    await log.append(box, 'a', { wake: 'node-a' })
    await handed(2)
    await log.append(box, 'b', { wake: 'node-a' })
    await handed(3)
    const seen = bells.slice(-2)
    t.equal(seen.length, 2)
    // The same doorbells again, newest first, then a new entry: only the new entry is handed over.
    for (const message of [...seen].reverse()) await sender.run('test.publish', async (client) => await client.publish(channel, message))
    await log.append(box, 'c', { wake: 'node-a' })
    await handed(4)
    t.same(got, ['first', 'a', 'b', 'c'])
  })

  t.test('a stream whose entries ring another doorbell in between is read, not chained', async (t) => {
    const { log, reader, got, handed } = await rig(t)
    const reads = reader.reads
    await Promise.all([
      log.append(box, 'x', { wake: 'node-a' }),
      log.append(box, 'y', { wake: 'node-b' }),
      log.append(box, 'z', { wake: 'node-a' })
    ])
    await handed(4)
    t.same(got, ['first', 'x', 'y', 'z'])
    t.ok(reader.reads > reads, 'read from the stream')
  })

  t.test('a doorbell too large to carry its entries names the stream instead', async (t) => {
    const small = await rig(t, 64)
    const reads = small.reader.reads
    await deliveredByName(t, small, 'x'.repeat(100))
    t.ok(small.reader.reads > reads, 'the reader read the stream')
  })

  t.test('a payload near the bound is carried when its entry, counted in bytes with its id, fits', async (t) => {
    // 60 bytes of UTF-8 in 30 characters: with its id (15 bytes now) and two NULs, 77 bytes of the 100 allowed.
    const near = await rig(t, 100)
    const carried = near.reader.carried
    const reads = near.reader.reads
    const payload = 'é'.repeat(30)
    await near.log.append(box, payload, { wake: 'node-a' })
    await near.handed(2)
    t.equal(near.got[1], payload, 'delivered intact')
    t.ok(near.bells.at(-1)?.startsWith('\0'), 'a doorbell carrying its entry')
    t.equal(near.reader.carried, carried + 1, 'handed over from the doorbell')
    t.equal(near.reader.reads, reads, 'no read')
  })

  t.test('a payload holding a NUL is delivered intact, by a read', async (t) => {
    await deliveredByName(t, await rig(t), 'a\0b')
  })

  t.test('maxDoorbellBytes 0 always names the streams', async (t) => {
    await deliveredByName(t, await rig(t, 0), 'small')
  })

  t.test('a doorbell it cannot parse makes the reader read every stream it follows', async (t) => {
    const { log, reader, got, handed, channel, sender } = await rig(t)
    const reads = reader.reads
    await log.append(box, 'unannounced') // no doorbell of its own
    await sender.run('test.publish', async (client) => await client.publish(channel, '\0some-key\0\0not-a-count'))
    await handed(2)
    t.same(got, ['first', 'unannounced'])
    t.ok(reader.reads > reads)
  })
}
