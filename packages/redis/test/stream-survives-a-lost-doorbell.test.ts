import t from 'tap'
import { RedisDeliveryLog, RedisStreamReader } from '../src/index.js'
import type { DeliveryEntry } from '../src/index.js'
import { connect } from './helpers/common.js'
import { redisServerOrSkip } from './helpers/redis-server.js'

const server = await redisServerOrSkip(t)

function nextEntry (reader: RedisStreamReader, id: string): Promise<DeliveryEntry> {
  return new Promise((resolve) => reader.follow({ kind: 'device', id }, (entry) => resolve(entry)))
}

if (server !== undefined) {
  t.test('an entry appended with no doorbell is still delivered, by the poll', async (t) => {
    const redis = await connect(t, server)
    const log = new RedisDeliveryLog(redis)
    const reader = new RedisStreamReader(redis, { nodeId: 'node-a', pollIntervalMs: 20 })
    t.teardown(async () => await reader.close())
    const entry = nextEntry(reader, 'device-1')
    const readsBefore = reader.reads
    await log.append({ kind: 'device', id: 'device-1' }, 'quiet') // no `wake`: the doorbell never rings
    t.equal((await entry).payload, 'quiet')
    t.ok(reader.reads > readsBefore, 'found by a read the reader made on its own')
  })

  t.test('a doorbell rung to the wrong node does not matter: the owner polls', async (t) => {
    const redis = await connect(t, server)
    const log = new RedisDeliveryLog(redis)
    const reader = new RedisStreamReader(redis, { nodeId: 'node-a', pollIntervalMs: 20 })
    t.teardown(async () => await reader.close())
    const entry = nextEntry(reader, 'device-1')
    await log.append({ kind: 'device', id: 'device-1' }, 'misrouted', { wake: 'node-z' })
    t.equal((await entry).payload, 'misrouted')
  })

  t.test('the doorbell wakes a reader whose poll interval is long', async (t) => {
    const redis = await connect(t, server)
    const log = new RedisDeliveryLog(redis)
    // A one-minute poll: only the doorbell can deliver this within the test's timeout.
    const reader = new RedisStreamReader(redis, { nodeId: 'node-a', pollIntervalMs: 60_000 })
    t.teardown(async () => await reader.close())
    const first = nextEntry(reader, 'device-1')
    await log.append({ kind: 'device', id: 'device-1' }, 'first', { wake: 'node-a' })
    t.equal((await first).payload, 'first')
    const second = nextEntry(reader, 'device-2')
    await log.append({ kind: 'device', id: 'device-2' }, 'second', { wake: 'node-a' })
    t.equal((await second).payload, 'second')
  })

  t.test('entries appended while the subscriber was away arrive after it reconnects, doorbells lost', async (t) => {
    const redis = await connect(t, server)
    const sender = await connect(t, server, { keyPrefix: redis.keys.prefix })
    const log = new RedisDeliveryLog(sender)
    const reader = new RedisStreamReader(redis, { nodeId: 'node-a', pollIntervalMs: 60_000 })
    t.teardown(async () => await reader.close())
    const got: string[] = []
    let finish = (): void => {}
    const done = new Promise<void>((resolve) => { finish = resolve })
    reader.follow({ kind: 'device', id: 'device-1' }, (entry) => {
      got.push(entry.payload)
      if (got.length === 3) finish()
    })
    await log.append({ kind: 'device', id: 'device-1' }, 'before', { wake: 'node-a' })
    // Drop every client of the reader's connection: its doorbells published meanwhile are lost.
    const ready = new Promise<void>((resolve) => {
      const off = redis.onStateChange(({ state }) => { if (state === 'ready') { off(); resolve() } })
    })
    await sender.run('test.kill', async (client) => await client.call('CLIENT', 'KILL', 'TYPE', 'pubsub'))
    await sender.run('test.kill', async (client) => await client.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes'))
    await log.append({ kind: 'device', id: 'device-1' }, 'while-away-1', { wake: 'node-a' })
    await log.append({ kind: 'device', id: 'device-1' }, 'while-away-2', { wake: 'node-a' })
    await ready
    await done
    t.same(got, ['before', 'while-away-1', 'while-away-2'], 'nothing lost, in order')
  })
}
