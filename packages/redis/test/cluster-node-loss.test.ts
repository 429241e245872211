import t from 'tap'
import { TestClient, registeredConstellation, registeredDevice, until } from '@aip/test-support'
import { Texts } from '@aip/device-server/internal'
import { redisServerOrSkip } from './helpers/redis-server.js'
import { answer, deviceOnNodeA, nextEvent, taskFrame, testCluster } from './helpers/cluster.js'

const server = await redisServerOrSkip(t)
const resume = { metadata: { aip_capabilities: ['resume', 'cancel'] } }

if (server !== undefined) {
  t.test('the node running a task is lost: the requester\'s node ends it once, within the node lease', async (t) => {
    const { a, b, device } = await deviceOnNodeA(t, server, 'dev-l')
    const galaxy = await registeredConstellation(t, b.wsUrl, 'galaxy', 'dev-l')
    t.match(await galaxy.ask(taskFrame('galaxy', 'dev-l', 'l@1')), { type: 'heartbeat', session_id: 'l@1' })
    await until(device, (f) => f.type === 'command')
    const ended = nextEvent(b.endpoint, 'taskEnd')
    await a.cluster.redis.close() // A stops renewing its node lease, as a dead process would
    t.match(await galaxy.next(), { type: 'task_end', status: 'failed', session_id: 'l@1', error: Texts.nodeLost })
    t.match(await ended, { sessionId: 'l@1', error: Texts.nodeLost })
    t.match(await b.endpoint.getClusterResult('l@1'), { status: 'failed', error: Texts.nodeLost })
  })

  t.test('a requester whose node is lost resumes on another node and gets its TASK_END there', async (t) => {
    const node = testCluster(t, server)
    const a = await node('node-a', { resumeWindowMs: 30_000, takeoverProbeMs: 100 })
    const b = await node('node-b', { resumeWindowMs: 30_000 })
    const c = await node('node-c', { resumeWindowMs: 30_000, takeoverProbeMs: 100 })
    const device = await registeredDevice(t, b.wsUrl, 'dev-m')
    const first = await TestClient.connect(t, a.wsUrl)
    await first.ask({ type: 'register', status: 'ok', client_type: 'constellation', client_id: 'galaxy', target_id: 'dev-m', ...resume })
    t.match(await first.ask(taskFrame('galaxy', 'dev-m', 'm@1')), { type: 'heartbeat', session_id: 'm@1' })
    const command = (await until(device, (f) => f.type === 'command')).frame
    await a.cluster.redis.close()
    first.ws.terminate()
    const second = await TestClient.connect(t, c.wsUrl)
    t.match(await second.ask({ type: 'register', status: 'ok', client_type: 'constellation', client_id: 'galaxy', target_id: 'dev-m', ...resume }), { type: 'heartbeat', status: 'ok' })
    second.send(taskFrame('galaxy', 'dev-m', 'm@1'))
    t.match((await until(second, (f) => f.session_id === 'm@1', 5)).frame, { type: 'heartbeat', status: 'ok' }, 'its TASK sent again is acknowledged, not run again')
    device.send(answer('dev-m', command))
    t.match((await until(second, (f) => f.type === 'task_end')).frame, { status: 'completed', session_id: 'm@1' })
    t.equal(b.endpoint.sessionCount, 0)
  })
}
