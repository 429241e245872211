import t from 'tap'
import { TestClient, deviceRegister, echoDevice, registeredConstellation, registeredDevice, until } from '@aip/test-support'
import { Texts } from '@aip/device-server/internal'
import { redisServerOrSkip } from './helpers/redis-server.js'
import { answer, nextEvent, taskFrame, testCluster } from './helpers/cluster.js'

const server = await redisServerOrSkip(t)

if (server !== undefined) {
  t.test('a constellation on node B runs a task on a device of node A over Redis: ack and TASK_END on B', async (t) => {
    const node = testCluster(t, server)
    const a = await node('node-a')
    const b = await node('node-b')
    const device = await registeredDevice(t, a.wsUrl, 'dev-1', { metadata: { platform: 'linux', system_info: { os: 'linux' } } })
    const galaxy = await registeredConstellation(t, b.wsUrl, 'galaxy', 'dev-1')
    const started = nextEvent(a.endpoint, 'sessionStarted')
    t.match(await galaxy.ask(taskFrame('galaxy', 'dev-1', 'x@1')), { type: 'heartbeat', status: 'ok', session_id: 'x@1' }, 'the ack made on A')
    t.match(await started, { sessionId: 'x@1', requesterId: 'galaxy' }, 'the agent runs on A')
    const command = await device.next()
    t.match(command, { type: 'command', session_id: 'x@1' })
    t.same((await b.endpoint.listClusterSessions()).map((s) => [s.sessionId, s.nodeId]), [['x@1', 'node-a']], 'B lists the session running on A')
    t.same(await b.cluster.listNodes(), ['node-a', 'node-b'])
    device.send(answer('dev-1', command))
    t.match(await galaxy.next(), { type: 'task_end', status: 'completed', session_id: 'x@1' })
    t.match(await b.endpoint.getClusterResult('x@1'), { sessionId: 'x@1', status: 'completed', deviceId: 'dev-1' }, 'the result, read from B')
    const info = { type: 'device_info_request', status: 'continue', client_type: 'constellation', client_id: 'galaxy', target_id: 'dev-1', request_id: 'i-1' }
    t.match(await galaxy.ask(info), { type: 'device_info_response', response_id: 'i-1', result: { os: 'linux' } }, 'device info of the remote device')
    t.same((await a.endpoint.listClusterClients()).map((c) => [c.clientId, c.nodeId]), [['dev-1', 'node-a'], ['galaxy', 'node-b']])
  })

  t.test('task_cancel and a refusal on A travel back to the requester on B', async (t) => {
    const node = testCluster(t, server)
    const a = await node('node-a', { maxSessionsPerClient: 1 })
    const b = await node('node-b')
    const device = await registeredDevice(t, a.wsUrl, 'dev-2')
    const galaxy = await TestClient.connect(t, b.wsUrl)
    await galaxy.ask({ type: 'register', status: 'ok', client_type: 'constellation', client_id: 'galaxy', target_id: 'dev-2', metadata: { aip_capabilities: ['cancel'] } })
    t.match(await galaxy.ask(taskFrame('galaxy', 'dev-2', 'c@1')), { type: 'heartbeat', session_id: 'c@1' })
    t.match(await galaxy.ask(taskFrame('galaxy', 'dev-2', 'c@2')), { type: 'error', error: Texts.tooManyClientSessions, session_id: 'c@2', response_id: 'r-c@2' })
    await until(device, (f) => f.type === 'command')
    galaxy.send({ type: 'task_cancel', status: 'continue', client_type: 'constellation', client_id: 'galaxy', session_id: 'c@1' })
    t.match(await galaxy.next(), { type: 'task_end', status: 'failed', session_id: 'c@1', error: Texts.cancelledByRequester })
  })

  t.test('an id held by a live connection on A is refused on B; a device whose node is gone is taken over', async (t) => {
    const node = testCluster(t, server)
    const a = await node('node-a', { takeoverProbeMs: 200 })
    const b = await node('node-b', { takeoverProbeMs: 200 })
    const first = await registeredDevice(t, a.wsUrl, 'dev-3')
    echoDevice(first, 'dev-3')
    const second = await TestClient.connect(t, b.wsUrl)
    t.match(await second.ask(deviceRegister('dev-3')), { type: 'error', error: Texts.duplicateClient('dev-3') }, 'A probed its connection: alive')
    // Node A is cut from Redis (its lease runs out): the id is taken over on B.
    await a.cluster.redis.close()
    const third = await TestClient.connect(t, b.wsUrl)
    t.match(await third.ask(deviceRegister('dev-3')), { type: 'heartbeat', status: 'ok' })
    t.same((await b.endpoint.listClusterClients()).map((c) => [c.clientId, c.nodeId]), [['dev-3', 'node-b']])
  })
}
