import t from 'tap'
import type { Redis } from 'ioredis'
import { registeredConstellation, registeredDevice } from '@aip/test-support'
import { redisServerOrSkip } from './helpers/redis-server.js'
import { answer, taskFrame, testCluster } from './helpers/cluster.js'

const server = await redisServerOrSkip(t)

if (server !== undefined) {
  t.test('the ack of a forwarded TASK is one PUBLISH on the requester node\'s doorbell, sent before the TASK_END\'s append on the same connection', async (t) => {
    const node = testCluster(t, server)
    const a = await node('node-a')
    const b = await node('node-b')
    const device = await registeredDevice(t, a.wsUrl, 'dev-1')
    const galaxy = await registeredConstellation(t, b.wsUrl, 'galaxy', 'dev-1')
    // What node A sends on its command connection, in order.
    const sent: string[] = []
    const connection = a.cluster.redis
    const run = connection.run.bind(connection)
    connection.run = async <T>(operation: string, work: (client: Redis) => Promise<T>): Promise<T> => {
      if (operation === 'cluster.notify' || operation === 'stream.append') sent.push(operation)
      return await run(operation, work)
    }
    t.match(await galaxy.ask(taskFrame('galaxy', 'dev-1', 'p@1')), { type: 'heartbeat', status: 'ok', session_id: 'p@1' }, 'the ack reaches the requester')
    const command = await device.next()
    device.send(answer('dev-1', command))
    t.match(await galaxy.next(), { type: 'task_end', status: 'completed', session_id: 'p@1' })
    t.same(sent, ['cluster.notify', 'stream.append'], 'the ack\'s PUBLISH, then the TASK_END\'s append (with its record)')
    const key = b.cluster.redis.keys.stream('device', 'galaxy')
    const info = await b.cluster.redis.run('test.xinfo', async (client) => await client.xinfo('STREAM', key)) as unknown[]
    t.equal(info[info.indexOf('entries-added') + 1], 1, 'the requester\'s mailbox got one entry ever: the TASK_END')
  })
}
