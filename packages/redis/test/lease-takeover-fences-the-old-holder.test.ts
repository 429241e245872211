import t from 'tap'
import { FencedError, RedisDeliveryLog, RedisLeaseRegistry, RedisRecordStore } from '../src/index.js'
import type { Lease } from '../src/index.js'
import { connect } from './helpers/common.js'
import { redisServerOrSkip } from './helpers/redis-server.js'

const server = await redisServerOrSkip(t)

async function acquire (leases: RedisLeaseRegistry, clientId: string, nodeId: string, mode: 'if-absent' | 'takeover' = 'if-absent'): Promise<Lease> {
  const outcome = await leases.register(clientId, { nodeId, mode })
  if (!outcome.acquired) throw new Error(`${clientId} not acquired`)
  return outcome.lease
}

if (server !== undefined) {
  t.test('a takeover gets the next epoch and names the holder it fenced', async (t) => {
    const redis = await connect(t, server)
    const leases = new RedisLeaseRegistry(redis)
    await acquire(leases, 'device-1', 'node-a')
    const outcome = await leases.register('device-1', { nodeId: 'node-b', mode: 'takeover' })
    t.equal(outcome.acquired, true)
    if (!outcome.acquired) return
    t.equal(outcome.lease.epoch, 2)
    t.same(outcome.replaced, { nodeId: 'node-a', epoch: 1 })
    t.match(await leases.get('device-1'), { nodeId: 'node-b', epoch: 2 })
  })

  t.test('the fenced epoch can no longer renew, release or write; the new one can', async (t) => {
    const redis = await connect(t, server)
    const leases = new RedisLeaseRegistry(redis)
    const log = new RedisDeliveryLog(redis)
    const sessions = new RedisRecordStore<{ step: number }>(redis, { namespace: 'session' })
    const old = await acquire(leases, 'device-1', 'node-a')
    await sessions.put('s1', { step: 1 }, { fence: old })
    const current = await acquire(leases, 'device-1', 'node-b', 'takeover')

    t.same(await leases.renew(old), { held: false, reason: 'fenced' })
    t.same(await leases.check(old), { held: false, reason: 'fenced' })
    t.equal(await leases.release(old), false)
    const err = await sessions.put('s1', { step: 2 }, { fence: old }).catch((err: unknown) => err)
    t.ok(err instanceof FencedError, 'a FencedError')
    t.match(err, { code: 'AIP_ERR_REDIS_FENCED', clientId: 'device-1', epoch: 1, reason: 'fenced' })
    await t.rejects(sessions.delete('s1', { fence: old }), { code: 'AIP_ERR_REDIS_FENCED' })
    await t.rejects(log.append({ kind: 'device', id: 'device-1' }, 'x', { fence: old }), { code: 'AIP_ERR_REDIS_FENCED', reason: 'fenced' })
    const first = await log.append({ kind: 'device', id: 'device-1' }, 'y', { fence: current })
    await t.rejects(log.ack({ kind: 'device', id: 'device-1' }, first, { fence: old }), { code: 'AIP_ERR_REDIS_FENCED' })
    t.same(await sessions.get('s1'), { step: 1 }, 'the fenced writes changed nothing')
    t.equal(await log.length({ kind: 'device', id: 'device-1' }), 1)

    t.match(await leases.get('device-1'), { nodeId: 'node-b', epoch: 2 }, 'the new holder is untouched')
    t.same(await leases.renew(current), { held: true })
    await sessions.put('s1', { step: 3 }, { fence: current })
    t.same(await sessions.get('s1'), { step: 3 })
    t.equal(await log.ack({ kind: 'device', id: 'device-1' }, first, { fence: current }), 1)
    t.equal(await leases.release(current), true)
  })

  t.test('a forged token with the right epoch is fenced too', async (t) => {
    const redis = await connect(t, server)
    const leases = new RedisLeaseRegistry(redis)
    const lease = await acquire(leases, 'device-1', 'node-a')
    const forged = { ...lease, token: 'guessed' }
    t.same(await leases.renew(forged), { held: false, reason: 'fenced' })
    t.equal(await leases.release(forged), false)
    t.match(await leases.get('device-1'), { epoch: 1, nodeId: 'node-a' })
  })

  t.test('a fenced holder stays fenced after the new holder released the id', async (t) => {
    const redis = await connect(t, server)
    const leases = new RedisLeaseRegistry(redis)
    const old = await acquire(leases, 'device-1', 'node-a')
    const current = await acquire(leases, 'device-1', 'node-b', 'takeover')
    await leases.release(current)
    t.same(await leases.renew(old), { held: false, reason: 'fenced' }, 'a later epoch existed: fenced, not expired')
    t.equal(await leases.get('device-1'), null)
  })

  t.test('two nodes racing to register the same free id: exactly one epoch wins', async (t) => {
    const a = await connect(t, server)
    const b = await connect(t, server, { keyPrefix: a.keys.prefix })
    const registries = [new RedisLeaseRegistry(a), new RedisLeaseRegistry(b)]
    for (let round = 0; round < 50; round++) {
      const id = `device-${round}`
      const outcomes = await Promise.all(registries.map(async (leases, i) => await leases.register(id, { nodeId: `node-${i}` })))
      const winners = outcomes.filter((o) => o.acquired)
      t.equal(winners.length, 1, `round ${round}: one winner`)
      const winner = winners[0]
      const loser = outcomes.find((o) => !o.acquired)
      if (winner?.acquired !== true || loser === undefined || loser.acquired) continue
      t.equal(winner.lease.epoch, 1)
      t.same({ node: loser.holder.nodeId, epoch: loser.holder.epoch }, { node: winner.lease.nodeId, epoch: 1 }, 'the loser sees the winner')
    }
  })

  t.test('racing takeovers of one id get distinct epochs and the last one holds', async (t) => {
    const a = await connect(t, server)
    const b = await connect(t, server, { keyPrefix: a.keys.prefix })
    const registries = [new RedisLeaseRegistry(a), new RedisLeaseRegistry(b)]
    const leases: Lease[] = []
    await Promise.all(registries.map(async (registry, i) => {
      for (let n = 0; n < 20; n++) leases.push(await acquire(registry, 'device-1', `node-${i}`, 'takeover'))
    }))
    const epochs = leases.map((l) => l.epoch).sort((x, y) => x - y)
    t.same(epochs, Array.from({ length: 40 }, (_, i) => i + 1), 'every registration got its own epoch')
    const checks = await Promise.all(leases.map(async (lease) => await registries[0]?.check(lease)))
    const holding = leases.filter((_, i) => checks[i]?.held === true)
    t.equal(holding.length, 1, 'exactly one lease holds')
    t.equal(holding[0]?.epoch, 40, 'the highest epoch')
  })
}
