import t from 'tap'
import { RedisDeliveryLog, RedisStreamReader } from '../src/index.js'
import type { DeliveryEntry, EntryHandler, StreamAddress } from '../src/index.js'
import { connect } from './helpers/common.js'
import { redisServerOrSkip } from './helpers/redis-server.js'

const server = await redisServerOrSkip(t)

const box: StreamAddress = { kind: 'device', id: 'device-1' }

/**
 * A reader of node-a following device-1 with `handler` (a one-minute poll: only doorbells deliver), a second listener
 * of its doorbell on the same connection (called after the reader's, for each doorbell), and a log on another
 * connection.
 */
async function rig (t: { teardown: (fn: () => unknown) => void }, handler: EntryHandler, onDoorbell: () => void): Promise<{ log: RedisDeliveryLog, reader: RedisStreamReader }> {
  const redis = await connect(t, server as NonNullable<typeof server>)
  const sender = await connect(t, server as NonNullable<typeof server>, { keyPrefix: redis.keys.prefix })
  const reader = new RedisStreamReader(redis, { nodeId: 'node-a', pollIntervalMs: 60_000 })
  t.teardown(async () => await reader.close())
  reader.follow(box, handler, { catchUp: false })
  await new Promise<void>((resolve) => { t.teardown(redis.subscribe(redis.keys.doorbell('node-a'), onDoorbell, resolve)) })
  return { log: new RedisDeliveryLog(sender), reader }
}

if (server !== undefined) {
  t.test('the entries a doorbell carries are handed over while the doorbell is heard, not in a later turn', async (t) => {
    const marks: string[] = []
    let finish = (): void => {}
    const done = new Promise<void>((resolve) => { finish = resolve })
    const check = (): void => { if (marks.length === 4) finish() }
    const { log } = await rig(t, (entry: DeliveryEntry) => {
      marks.push(entry.payload)
      check()
    }, () => {
      marks.push('doorbell heard')
      check()
    })
    await log.append(box, 'a', { wake: 'node-a' })
    await log.append(box, 'b', { wake: 'node-a' })
    await done
    t.same(marks, ['a', 'doorbell heard', 'b', 'doorbell heard'])
  })

  t.test('entries of doorbells heard while an asynchronous handler runs wait for it, and keep their order', async (t) => {
    const marks: string[] = []
    let release = (): void => {}
    const gate = new Promise<void>((resolve) => { release = resolve })
    let finish = (): void => {}
    const done = new Promise<void>((resolve) => { finish = resolve })
    let heard = 0
    let allHeard = (): void => {}
    const threeHeard = new Promise<void>((resolve) => { allHeard = resolve })
    const { log } = await rig(t, async (entry: DeliveryEntry) => {
      marks.push(`start ${entry.payload}`)
      if (entry.payload === 'a') await gate
      marks.push(`end ${entry.payload}`)
      if (entry.payload === 'c') finish()
    }, () => { if (++heard === 3) allHeard() })
    // One doorbell each: the three arrive while the handler of the first waits.
    for (const p of ['a', 'b', 'c']) await log.append(box, p, { wake: 'node-a' })
    await threeHeard
    t.same(marks, ['start a'], 'nothing else handed over while the first is handled')
    release()
    await done
    t.same(marks, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c'])
  })
}
