import t from 'tap'
import { LeaseKeeper, RedisLeaseRegistry } from '../src/index.js'
import type { Lease, LeaseLossReason } from '../src/index.js'
import { connect } from './helpers/common.js'
import { redisServerOrSkip } from './helpers/redis-server.js'

const server = await redisServerOrSkip(t)

async function acquire (leases: RedisLeaseRegistry, nodeId: string, leaseMs: number): Promise<Lease> {
  const outcome = await leases.register('device-1', { nodeId, mode: 'takeover', leaseMs })
  if (!outcome.acquired) throw new Error('not acquired')
  return outcome.lease
}

if (server !== undefined) {
  t.test('a keeper renews its lease past its length, and reports a takeover once', async (t) => {
    const redis = await connect(t, server)
    const leases = new RedisLeaseRegistry(redis)
    // Renewed every 100 ms, the lease outlives its 1.5 s length; a renewal may be late by over a second (a busy
    // machine) without the lease expiring.
    const leaseMs = 1_500
    const lease = await acquire(leases, 'node-a', leaseMs)
    const start = Date.now()
    let renewed = 0
    let pastLength = (): void => {}
    const renewedPastLength = new Promise<void>((resolve) => { pastLength = resolve })
    const losses: LeaseLossReason[] = []
    let lost = (): void => {}
    const lostOnce = new Promise<void>((resolve) => { lost = resolve })
    const keeper = new LeaseKeeper(leases, lease, {
      renewEveryMs: 100,
      onRenewed: () => { if (++renewed >= 3 && Date.now() - start > leaseMs) pastLength() },
      onLost: (reason) => {
        losses.push(reason)
        lost()
      }
    })
    t.teardown(() => keeper.stop())
    t.equal(keeper.lease, lease)
    // A loss before that (the lease expired between two renewals) fails the test instead of leaving it waiting.
    await Promise.race([renewedPastLength, lostOnce])
    t.same(losses, [], 'not lost while renewed')
    t.match(await leases.get('device-1'), { nodeId: 'node-a', epoch: lease.epoch }, 'still held')
    await acquire(leases, 'node-b', 60_000)
    await lostOnce
    t.same(losses, ['fenced'])
    t.equal(keeper.stopped, true, 'it stopped by itself')
    t.ok(keeper.renewals >= 3)
  })

  t.test('a keeper reports Redis errors and goes on; stop() ends it', async (t) => {
    const redis = await connect(t, server)
    const leases = new RedisLeaseRegistry(redis)
    const lease = await acquire(leases, 'node-a', 60_000)
    const failing: RedisLeaseRegistry = Object.create(leases) as RedisLeaseRegistry
    let calls = 0
    failing.renew = async (l) => (++calls === 1 ? await Promise.reject(new Error('redis away')) : await leases.renew(l))
    const errors: unknown[] = []
    let renewedOnce = (): void => {}
    const renewed = new Promise<void>((resolve) => { renewedOnce = resolve })
    const keeper = new LeaseKeeper(failing, lease, { renewEveryMs: 10, onError: (err) => errors.push(err), onRenewed: () => renewedOnce() })
    await renewed
    keeper.stop()
    keeper.stop()
    t.equal(errors.length, 1, 'the failure was reported')
    t.equal(keeper.stopped, true)
    t.throws(() => new LeaseKeeper(leases, lease, { renewEveryMs: 60_000 }), { code: 'AIP_ERR_REDIS_INVALID_OPTION' })
  })
}
