import t from 'tap'
import { registeredConstellation, registeredDevice } from '@aip/test-support'
import { redisServerOrSkip } from './helpers/redis-server.js'
import { answer, taskFrame, testCluster } from './helpers/cluster.js'

const server = await redisServerOrSkip(t)

if (server !== undefined) {
  t.test('an ack lost on pub/sub is written on the requester\'s node right before the TASK_END, whose entry counts it', async (t) => {
    const node = testCluster(t, server)
    const a = await node('node-a')
    const b = await node('node-b')
    const device = await registeredDevice(t, a.wsUrl, 'dev-1')
    const galaxy = await registeredConstellation(t, b.wsUrl, 'galaxy', 'dev-1')
    // Node B's subscriber does not hear it (as while it reconnects): the PUBLISH goes to nobody.
    a.cluster.notifyNode = async () => {}
    galaxy.send(taskFrame('galaxy', 'dev-1', 'q@1'))
    const command = await device.next()
    t.match(command, { type: 'command', session_id: 'q@1' }, 'the task runs on A; its ack is lost')
    device.send(answer('dev-1', command))
    t.match(await galaxy.next(), { type: 'heartbeat', status: 'ok', session_id: 'q@1' }, 'the ack first')
    t.match(await galaxy.next(), { type: 'task_end', status: 'completed', session_id: 'q@1' }, 'then the TASK_END')
  })
}
