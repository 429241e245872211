import t from 'tap'
import { RedisDeliveryLog, RedisStreamReader, StreamFullError } from '../src/index.js'
import type { DeliveryEntry, StreamAddress } from '../src/index.js'
import { connect } from './helpers/common.js'
import { redisServerOrSkip } from './helpers/redis-server.js'

const server = await redisServerOrSkip(t)

/** Collects entries until `count` arrived. */
function collector (count: number): { entries: DeliveryEntry[], handler: (entry: DeliveryEntry) => void, done: Promise<void> } {
  const entries: DeliveryEntry[] = []
  let finish = (): void => {}
  const done = new Promise<void>((resolve) => { finish = resolve })
  return {
    entries,
    handler: (entry) => {
      entries.push(entry)
      if (entries.length === count) finish()
    },
    done
  }
}

if (server !== undefined) {
  const device: StreamAddress = { kind: 'device', id: 'device-1' }

  t.test('entries of one device are handed over in the order they were appended, by concurrent senders too', async (t) => {
    const sender = await connect(t, server)
    const receiver = await connect(t, server, { keyPrefix: sender.keys.prefix })
    const log = new RedisDeliveryLog(sender)
    const reader = new RedisStreamReader(receiver, { nodeId: 'node-a', batchSize: 7 })
    t.teardown(async () => await reader.close())
    const got = collector(100)
    reader.follow(device, async (entry) => {
      await new Promise((resolve) => setImmediate(resolve)) // a slow handler: the next entry waits for it
      got.handler(entry)
    })
    const ids: string[] = []
    for (let i = 0; i < 50; i++) ids.push(await log.append(device, `a${i}`, { wake: 'node-a' }))
    const concurrent = await Promise.all(Array.from({ length: 50 }, async (_, i) => await log.append(device, `b${i}`, { wake: 'node-a' })))
    await got.done
    const appendOrder = [...ids, ...concurrent].sort(compareIds)
    t.same(got.entries.map((e) => e.id), appendOrder, 'handed over in stream order')
    t.same(got.entries.slice(0, 50).map((e) => e.payload), Array.from({ length: 50 }, (_, i) => `a${i}`))
    t.equal(reader.cursor(device), appendOrder.at(-1))
  })

  t.test('acknowledged entries leave the stream; a new reader gets every unacknowledged one', async (t) => {
    const redis = await connect(t, server)
    const log = new RedisDeliveryLog(redis)
    const ids: string[] = []
    for (let i = 0; i < 5; i++) ids.push(await log.append(device, `m${i}`))
    t.same((await log.read(device, '0-0')).map((e) => e.payload), ['m0', 'm1', 'm2', 'm3', 'm4'])
    t.same((await log.read(device, ids[1] as string, 2)).map((e) => e.payload), ['m2', 'm3'], 'read after an id, bounded')
    t.equal(await log.ack(device, ids[1] as string), 2, 'two acknowledged')
    t.equal(await log.length(device), 3)
    const reader = new RedisStreamReader(redis, { nodeId: 'node-b' })
    t.teardown(async () => await reader.close())
    const got = collector(3)
    reader.follow(device, got.handler)
    await got.done
    t.same(got.entries.map((e) => e.payload), ['m2', 'm3', 'm4'], 'the unacknowledged entries, in order')
    t.equal(await log.ack({ kind: 'node', id: 'nobody' }, ids[0] as string), 0, 'acknowledging a missing stream is a no-op')
  })

  t.test('a full stream refuses the append and drops nothing', async (t) => {
    const redis = await connect(t, server)
    const log = new RedisDeliveryLog(redis, { maxStreamLength: 3 })
    const ids: string[] = []
    for (let i = 0; i < 3; i++) ids.push(await log.append(device, `m${i}`))
    const err = await log.append(device, 'm3').catch((err: unknown) => err)
    t.ok(err instanceof StreamFullError)
    t.match(err, { code: 'AIP_ERR_REDIS_STREAM_FULL', stream: 'device:device-1', maxLength: 3 })
    t.same((await log.read(device, '0-0')).map((e) => e.payload), ['m0', 'm1', 'm2'])
    await log.ack(device, ids[0] as string)
    await log.append(device, 'm3')
    t.same((await log.read(device, '0-0')).map((e) => e.payload), ['m1', 'm2', 'm3'], 'room again after an acknowledgement')
  })

  t.test('devices and nodes have separate streams, each in its own order', async (t) => {
    const redis = await connect(t, server)
    const log = new RedisDeliveryLog(redis)
    const reader = new RedisStreamReader(redis, { nodeId: 'node-a' })
    t.teardown(async () => await reader.close())
    const perStream = new Map<string, string[]>()
    let seen = 0
    let finish = (): void => {}
    const done = new Promise<void>((resolve) => { finish = resolve })
    const handler = (entry: DeliveryEntry, address: StreamAddress): void => {
      const key = `${address.kind}:${address.id}`
      perStream.set(key, [...(perStream.get(key) ?? []), entry.payload])
      if (++seen === 30) finish()
    }
    const addresses: StreamAddress[] = [{ kind: 'device', id: 'd1' }, { kind: 'device', id: 'd2' }, { kind: 'node', id: 'd1' }]
    for (const address of addresses) reader.follow(address, handler)
    for (let i = 0; i < 10; i++) {
      for (const address of addresses) await log.append(address, `${i}`, { wake: 'node-a' })
    }
    await done
    for (const key of ['device:d1', 'device:d2', 'node:d1']) t.same(perStream.get(key), Array.from({ length: 10 }, (_, i) => `${i}`), key)
  })

  t.test('a handler that throws is logged and the next entry is still handed over', async (t) => {
    const redis = await connect(t, server)
    const log = new RedisDeliveryLog(redis)
    const logged: unknown[] = []
    const noop = (): void => {}
    const reader = new RedisStreamReader(redis, { nodeId: 'node-a', logger: { debug: noop, info: noop, warn: noop, error: (obj) => logged.push(obj) } })
    t.teardown(async () => await reader.close())
    const got = collector(2)
    reader.follow(device, (entry) => {
      got.handler(entry)
      if (entry.payload === 'bad') throw new Error('handler failed')
    })
    await log.append(device, 'bad', { wake: 'node-a' })
    await log.append(device, 'good', { wake: 'node-a' })
    await got.done
    t.same(got.entries.map((e) => e.payload), ['bad', 'good'])
    t.equal(logged.length, 1)
  })

  t.test('unfollowing stops the handler; bad arguments are refused', async (t) => {
    const redis = await connect(t, server)
    const log = new RedisDeliveryLog(redis)
    const reader = new RedisStreamReader(redis, { nodeId: 'node-a', pollIntervalMs: 60_000 })
    t.teardown(async () => await reader.close())
    const got = collector(1)
    const stop = reader.follow(device, got.handler)
    await log.append(device, 'one', { wake: 'node-a' })
    await got.done
    stop()
    t.equal(reader.cursor(device), undefined)
    t.throws(() => reader.follow({ kind: 'room' as 'node', id: 'x' }, got.handler), { code: 'AIP_ERR_REDIS_INVALID_ARGUMENT' })
    t.throws(() => reader.follow(device, got.handler, { afterId: '$' }), { code: 'AIP_ERR_REDIS_INVALID_ARGUMENT' })
    await t.rejects(log.append(device, 42 as unknown as string), { code: 'AIP_ERR_REDIS_INVALID_ARGUMENT' })
    await t.rejects(log.read(device, 'latest'), { code: 'AIP_ERR_REDIS_INVALID_ARGUMENT' })
    await t.rejects(log.append(device, 'x'.repeat(2_000_000)), { code: 'AIP_ERR_REDIS_INVALID_ARGUMENT' })
    t.throws(() => new RedisDeliveryLog(redis, { maxStreamLength: 0 }), { code: 'AIP_ERR_REDIS_INVALID_OPTION' })
  })
}

function compareIds (a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt) as [bigint, bigint]
  const [bm, bs] = b.split('-').map(BigInt) as [bigint, bigint]
  return am === bm ? Number(as - bs) : Number(am - bm)
}
