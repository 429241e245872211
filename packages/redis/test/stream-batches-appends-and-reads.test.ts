import t from 'tap'
import { FencedError, RedisDeliveryLog, RedisStreamReader, StreamFullError } from '../src/index.js'
import type { DeliveryEntry, StreamAddress } from '../src/index.js'
import { commandCalls as calls, connect, logAndLeases, scriptCalls } from './helpers/common.js'
import { redisServerOrSkip } from './helpers/redis-server.js'

const server = await redisServerOrSkip(t)

if (server !== undefined) {
  t.test('many entries to many mailboxes in one turn: all delivered, in order per mailbox, with a bounded number of reads', async (t) => {
    const sender = await connect(t, server)
    const receiver = await connect(t, server, { keyPrefix: sender.keys.prefix })
    const log = new RedisDeliveryLog(sender)
    // A one-minute poll: only doorbells make this reader read after its first round.
    const reader = new RedisStreamReader(receiver, { nodeId: 'node-a', pollIntervalMs: 60_000 })
    t.teardown(async () => await reader.close())
    const mailboxes: StreamAddress[] = Array.from({ length: 20 }, (_, i) => ({ kind: 'device', id: `d${i}` }))
    const perMailbox = 30
    const got = new Map<string, string[]>()
    let seen = 0
    let finish = (): void => {}
    const done = new Promise<void>((resolve) => { finish = resolve })
    let firstRound = (): void => {}
    const firstRoundDone = new Promise<void>((resolve) => { firstRound = resolve })
    for (const mailbox of mailboxes) {
      reader.follow(mailbox, (entry: DeliveryEntry, address) => {
        got.set(address.id, [...(got.get(address.id) ?? []), entry.payload])
        if (++seen === mailboxes.length * perMailbox) finish()
      })
    }
    // The followed mailboxes are read once (empty); wait for that round before counting.
    const waitRead = setInterval(() => { if (reader.reads > 0) firstRound() }, 5)
    await firstRoundDone
    clearInterval(waitRead)
    const xaddsBefore = await calls(sender, 'xadd')
    const publishesBefore = await calls(sender, 'publish')
    const readsBefore = reader.reads
    // One turn: every append below is made before any of them is sent.
    const appended = []
    for (let i = 0; i < perMailbox; i++) {
      for (const mailbox of mailboxes) appended.push(log.append(mailbox, `${mailbox.id}-${i}`, { wake: 'node-a' }))
    }
    const ids = await Promise.all(appended)
    const perStream = ids.map((id, i) => `${mailboxes[i % mailboxes.length]?.id ?? ''}/${id}`)
    t.equal(new Set(perStream).size, ids.length, 'every append got its own entry id in its mailbox')
    await done
    for (const mailbox of mailboxes) {
      t.same(got.get(mailbox.id), Array.from({ length: perMailbox }, (_, i) => `${mailbox.id}-${i}`), `${mailbox.id} in order`)
    }
    t.equal(await calls(sender, 'xadd') - xaddsBefore, mailboxes.length * perMailbox, 'one XADD per entry')
    // 600 appends: three script calls of at most 256, one doorbell each (not one per entry).
    t.equal(await calls(sender, 'publish') - publishesBefore, 3, 'one doorbell per script call')
    // One round for the doorbell (600 entries, 20 streams, in one XREAD); at most two more if the doorbell's
    // subscription confirmation (a full read) came late.
    t.ok(reader.reads - readsBefore <= 3, `reads after the appends: ${reader.reads - readsBefore}`)
  })

  t.test('in one turn, a full mailbox or a fenced lease refuses only its own append', async (t) => {
    const { log, leases } = await logAndLeases(t, server, { maxStreamLength: 2 })
    const first = await leases.register('device-1', { nodeId: 'node-a' })
    const second = await leases.register('device-1', { nodeId: 'node-b', mode: 'takeover' })
    if (!first.acquired || !second.acquired) throw new Error('not acquired')
    const full: StreamAddress = { kind: 'device', id: 'full' }
    const free: StreamAddress = { kind: 'device', id: 'free' }
    const results = await Promise.allSettled([
      log.append(full, 'f1'),
      log.append(full, 'f2'),
      log.append(full, 'f3'),
      log.append(free, 'stale', { fence: first.lease }),
      log.append(free, 'current', { fence: second.lease }),
      log.append(free, 'plain')
    ])
    t.same(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected', 'rejected', 'fulfilled', 'fulfilled'])
    t.ok((results[2] as PromiseRejectedResult).reason instanceof StreamFullError)
    t.match((results[3] as PromiseRejectedResult).reason, { code: 'AIP_ERR_REDIS_FENCED', clientId: 'device-1', epoch: 1, reason: 'fenced' })
    t.ok((results[3] as PromiseRejectedResult).reason instanceof FencedError)
    t.same((await log.read(full, '0-0')).map((e) => e.payload), ['f1', 'f2'])
    t.same((await log.read(free, '0-0')).map((e) => e.payload), ['current', 'plain'], 'nothing written for the fenced holder')
    const [removed, refused] = await Promise.allSettled([
      log.ack(full, (results[1] as PromiseFulfilledResult<string>).value, { fence: second.lease }),
      log.ack(free, '0-1', { fence: first.lease })
    ])
    t.same(removed, { status: 'fulfilled', value: 2 }, 'an acknowledgement in the same turn')
    t.match((refused as PromiseRejectedResult).reason, { code: 'AIP_ERR_REDIS_FENCED', reason: 'fenced' })
  })

  t.test('acknowledgements of one turn go in one script call, each answering what it removed', async (t) => {
    const redis = await connect(t, server)
    const log = new RedisDeliveryLog(redis)
    const a: StreamAddress = { kind: 'device', id: 'a' }
    const b: StreamAddress = { kind: 'node', id: 'b' }
    const ids = await Promise.all([log.append(a, '1'), log.append(a, '2'), log.append(a, '3'), log.append(b, '1')])
    const trimsBefore = await calls(redis, 'xtrim')
    const scriptsBefore = await scriptCalls(redis)
    const removed = await Promise.all([log.ack(a, ids[0] as string), log.ack(a, ids[2] as string), log.ack(b, ids[3] as string)])
    t.same(removed, [1, 2, 1])
    t.equal(await calls(redis, 'xtrim') - trimsBefore, 3)
    t.equal(await scriptCalls(redis) - scriptsBefore, 1, 'one script call')
    t.equal(await log.length(a), 0)
    t.equal(await log.length(b), 0)
  })

  t.test('a doorbell heard while the reader cannot read is not lost: the read after the reconnection finds the entries', async (t) => {
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
      if (got.length === 2) finish()
    })
    await log.append({ kind: 'device', id: 'device-1' }, 'before', { wake: 'node-a' })
    const ready = new Promise<void>((resolve) => {
      const off = redis.onStateChange(({ state }) => { if (state === 'ready') { off(); resolve() } })
    })
    // Only the reader's command connection drops: its subscriber hears the doorbell while reads fail.
    await sender.run('test.kill', async (client) => await client.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes'))
    await log.append({ kind: 'device', id: 'device-1' }, 'during', { wake: 'node-a' })
    await ready
    await done
    t.same(got, ['before', 'during'])
  })
}
