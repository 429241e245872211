import t from 'tap'
import { registeredConstellation } from '@aip/test-support'
import { redisServerOrSkip } from './helpers/redis-server.js'
import { answer, deviceOnNodeA, testCluster, type TestNode } from './helpers/cluster.js'

const server = await redisServerOrSkip(t)

/** Counts the lease lookups (`locate`) a node's link makes from now on. */
function countLookups (node: TestNode): () => number {
  const cluster = node.cluster
  const locate = cluster.locate.bind(cluster)
  let lookups = 0
  cluster.locate = async (clientId) => {
    lookups++
    return await locate(clientId)
  }
  return () => lookups
}

if (server !== undefined) {
  t.test('dispatch() on node B to a device of node A: the device found and the dispatch appended in one step, no lookup of its own', async (t) => {
    const { b, device } = await deviceOnNodeA(t, server, 'dev-1')
    const lookups = countLookups(b)
    const dispatched = await b.endpoint.dispatch('dev-1', 'open notepad')
    const serverTask = await device.next()
    t.match(serverTask, { type: 'task', session_id: dispatched.sessionId, user_request: 'open notepad' }, 'the server TASK, made on A')
    t.match(await device.ask({ type: 'task', status: 'continue', client_type: 'device', client_id: 'dev-1', session_id: null, task_name: serverTask.task_name, request: serverTask.user_request }), { type: 'heartbeat', session_id: dispatched.sessionId })
    const command = await device.next()
    device.send(answer('dev-1', command))
    t.match(await dispatched.done, { sessionId: dispatched.sessionId, status: 'completed', deviceId: 'dev-1' })
    t.equal(lookups(), 0, 'no lease lookup before the append')
  })

  t.test('dispatch() to a client held by no node, or by another node but not a device: not connected, nothing appended', async (t) => {
    const { a, b } = await deviceOnNodeA(t, server, 'dev-2')
    await registeredConstellation(t, a.wsUrl, 'galaxy', 'dev-2')
    const lookups = countLookups(b)
    await t.rejects(b.endpoint.dispatch('nobody', 'x'), { code: 'AIP_ERR_SERVER_CLIENT_NOT_CONNECTED' })
    await t.rejects(b.endpoint.dispatch('galaxy', 'x'), { code: 'AIP_ERR_SERVER_CLIENT_NOT_CONNECTED' }, 'a constellation is not a device')
    t.same(b.endpoint.listDispatches(), [], 'nothing left listed')
    const keys = b.cluster.redis.keys
    const lengths = await b.cluster.redis.run('test.len', async (client) => await Promise.all([client.xlen(keys.stream('device', 'nobody')), client.xlen(keys.stream('device', 'galaxy'))]))
    t.same(lengths, [0, 0], 'no mailbox got the dispatch')
    t.equal(lookups(), 0)
  })

  t.test('aborted while on its way: dispatch() rejects as cancelled, and the cancel follows the dispatch to the device\'s node', async (t) => {
    const { a, b, device } = await deviceOnNodeA(t, server, 'dev-3')
    const controller = new AbortController()
    const dispatching = b.endpoint.dispatch('dev-3', 'x', { signal: controller.signal })
    controller.abort()
    await t.rejects(dispatching, { code: 'AIP_ERR_SERVER_SESSION_CANCELLED', reason: 'aborted' })
    t.same(b.endpoint.listDispatches(), [])
    t.match(await device.next(), { type: 'task', user_request: 'x' }, 'the dispatch reached A')
    for (let i = 0; i < 1000 && a.endpoint.listDispatches().length > 0; i++) await new Promise((resolve) => setImmediate(resolve))
    t.same(a.endpoint.listDispatches(), [], 'withdrawn on A by the cancel that followed it')
  })

  t.test('aborted while on its way to a device held by no node: rejects as cancelled, as the caller asked', async (t) => {
    const node = testCluster(t, server)
    await node('node-a')
    const b = await node('node-b')
    const controller = new AbortController()
    const dispatching = b.endpoint.dispatch('nobody', 'x', { signal: controller.signal })
    controller.abort()
    await t.rejects(dispatching, { code: 'AIP_ERR_SERVER_SESSION_CANCELLED', reason: 'aborted' })
    t.same(b.endpoint.listDispatches(), [])
  })
}
