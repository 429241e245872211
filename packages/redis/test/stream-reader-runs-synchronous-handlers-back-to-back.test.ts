import t from 'tap'
import { RedisDeliveryLog, RedisStreamReader } from '../src/index.js'
import type { DeliveryEntry, EntryHandler, StreamAddress } from '../src/index.js'
import { connect } from './helpers/common.js'
import { redisServerOrSkip } from './helpers/redis-server.js'

const server = await redisServerOrSkip(t)

const box: StreamAddress = { kind: 'device', id: 'device-1' }

/**
 * A reader of node-a following device-1 with `handler` (a one-minute poll: only doorbells deliver), its doorbell
 * confirmed, and a log on another connection.
 */
async function rig (t: { teardown: (fn: () => unknown) => void }, handler: EntryHandler, errors: unknown[] = []): Promise<RedisDeliveryLog> {
  const redis = await connect(t, server as NonNullable<typeof server>)
  const sender = await connect(t, server as NonNullable<typeof server>, { keyPrefix: redis.keys.prefix })
  const noop = (): void => {}
  const reader = new RedisStreamReader(redis, { nodeId: 'node-a', pollIntervalMs: 60_000, logger: { debug: noop, info: noop, warn: noop, error: (obj) => errors.push(obj) } })
  t.teardown(async () => await reader.close())
  reader.follow(box, handler, { catchUp: false })
  await new Promise<void>((resolve) => { t.teardown(redis.subscribe(redis.keys.doorbell('node-a'), () => {}, resolve)) })
  return new RedisDeliveryLog(sender)
}

if (server !== undefined) {
  t.test('entries a doorbell carries reach a synchronous handler back to back, with no promise in between', async (t) => {
    const marks: string[] = []
    let finish = (): void => {}
    const done = new Promise<void>((resolve) => { finish = resolve })
    const log = await rig(t, (entry: DeliveryEntry) => {
      marks.push(entry.payload)
      // Runs only once the reader yields: after the last entry when the reader awaits nothing.
      queueMicrotask(() => marks.push(`after ${entry.payload}`))
      if (entry.payload === 'c') finish()
    })
    await Promise.all(['a', 'b', 'c'].map(async (p) => await log.append(box, p, { wake: 'node-a' })))
    await done
    await new Promise((resolve) => setImmediate(resolve))
    t.same(marks, ['a', 'b', 'c', 'after a', 'after b', 'after c'])
  })

  t.test('an asynchronous handler is waited for before the next entry; one that rejects is logged, the next still handed over', async (t) => {
    const marks: string[] = []
    const errors: unknown[] = []
    let finish = (): void => {}
    const done = new Promise<void>((resolve) => { finish = resolve })
    const log = await rig(t, async (entry: DeliveryEntry) => {
      marks.push(`start ${entry.payload}`)
      await new Promise((resolve) => setImmediate(resolve))
      marks.push(`end ${entry.payload}`)
      if (entry.payload === 'b') throw new Error('handler failed')
      if (entry.payload === 'c') finish()
    }, errors)
    await Promise.all(['a', 'b', 'c'].map(async (p) => await log.append(box, p, { wake: 'node-a' })))
    await done
    t.same(marks, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c'])
    t.match(errors, [{ entryId: String, stream: 'device:device-1' }], 'the rejection logged once')
  })
}
