import t from 'tap'
import { echoDevice, registeredConstellation, registeredDevice } from '@aip/test-support'
import { commandCalls } from './helpers/common.js'
import { redisServerOrSkip } from './helpers/redis-server.js'
import { taskFrame, testCluster } from './helpers/cluster.js'

const server = await redisServerOrSkip(t)

if (server !== undefined) {
  t.test('devices whose mailbox is empty register without a read of the mailboxes; a task still reaches them by doorbell', async (t) => {
    // A one-minute poll: after registration, only doorbells make the nodes read.
    const node = testCluster(t, server, { pollIntervalMs: 60_000 })
    const a = await node('node-a')
    const b = await node('node-b')
    const first = await registeredDevice(t, a.wsUrl, 'dev-0')
    echoDevice(first, 'dev-0')
    const xreads = await commandCalls(a.cluster.redis, 'xread')
    const devices = 20
    for (let i = 1; i <= devices; i++) echoDevice(await registeredDevice(t, a.wsUrl, `dev-${i}`), `dev-${i}`)
    // Before: one XREAD of every followed mailbox per registration (20 here). A late full read (the doorbell's
    // subscription confirmed) may still come.
    t.ok(await commandCalls(a.cluster.redis, 'xread') - xreads <= 2, `XREADs while ${devices} devices registered: ${await commandCalls(a.cluster.redis, 'xread') - xreads}`)
    const galaxy = await registeredConstellation(t, b.wsUrl, 'galaxy', 'dev-7')
    t.match(await galaxy.ask(taskFrame('galaxy', 'dev-7', 's@1')), { type: 'heartbeat', status: 'ok', session_id: 's@1' }, 'the TASK reached node A by its doorbell')
    t.match(await galaxy.next(), { type: 'task_end', status: 'completed', session_id: 's@1' })
  })
}
