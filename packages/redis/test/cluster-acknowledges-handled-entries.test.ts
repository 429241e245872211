import t from 'tap'
import { echoDevice, registeredConstellation, registeredDevice } from '@aip/test-support'
import { RedisCluster } from '../src/index.js'
import { eventually } from './helpers/common.js'
import { redisServerOrSkip } from './helpers/redis-server.js'
import { taskFrame, testCluster, type TestNode } from './helpers/cluster.js'

const server = await redisServerOrSkip(t)

async function waiting (node: TestNode, clientId: string): Promise<number> {
  const key = node.cluster.redis.keys.stream('device', clientId)
  return await node.cluster.redis.run('test.xlen', async (client) => await client.xlen(key))
}

t.test('ackDelayMs is checked', async (t) => {
  t.throws(() => new RedisCluster({ ackDelayMs: 0 }), { code: 'AIP_ERR_REDIS_INVALID_OPTION' })
  t.throws(() => new RedisCluster({ ackDelayMs: 1.5 }), { code: 'AIP_ERR_REDIS_INVALID_OPTION' })
})

if (server !== undefined) {
  t.test('entries handled on both nodes leave their mailboxes within ackDelayMs, one acknowledgement per mailbox', async (t) => {
    const node = testCluster(t, server, { ackDelayMs: 50 })
    const a = await node('node-a')
    const b = await node('node-b')
    echoDevice(await registeredDevice(t, a.wsUrl, 'dev-1'), 'dev-1')
    const galaxy = await registeredConstellation(t, b.wsUrl, 'galaxy', 'dev-1')
    for (let i = 0; i < 5; i++) {
      t.match(await galaxy.ask(taskFrame('galaxy', 'dev-1', `s@${i}`)), { type: 'heartbeat', session_id: `s@${i}` })
      t.match(await galaxy.next(), { type: 'task_end', status: 'completed', session_id: `s@${i}` })
    }
    t.ok(await eventually(async () => await waiting(a, 'dev-1') === 0), 'the TASKs left the device\'s mailbox')
    t.ok(await eventually(async () => await waiting(b, 'galaxy') === 0), 'the acks and TASK_ENDs left the requester\'s mailbox')
  })

  t.test('a requester that comes back to the same node gets no frame twice', async (t) => {
    const node = testCluster(t, server, { ackDelayMs: 60_000 })
    const a = await node('node-a')
    const b = await node('node-b')
    echoDevice(await registeredDevice(t, a.wsUrl, 'dev-2'), 'dev-2')
    const first = await registeredConstellation(t, b.wsUrl, 'galaxy-2', 'dev-2')
    t.match(await first.ask(taskFrame('galaxy-2', 'dev-2', 'r@1')), { type: 'heartbeat', session_id: 'r@1' })
    t.match(await first.next(), { type: 'task_end', session_id: 'r@1' })
    t.ok(await waiting(b, 'galaxy-2') > 0, 'handled, not acknowledged yet (a one-minute ackDelayMs)')
    first.ws.close()
    const left = await eventually(async () => await waiting(b, 'galaxy-2') === 0)
    t.ok(left, 'acknowledged at once when the requester left')
    const second = await registeredConstellation(t, b.wsUrl, 'galaxy-2', 'dev-2')
    t.match(await second.ask(taskFrame('galaxy-2', 'dev-2', 'r@2')), { type: 'heartbeat', session_id: 'r@2' }, 'the first frame it sees is its new ack')
    t.match(await second.next(), { type: 'task_end', session_id: 'r@2' })
  })
}
