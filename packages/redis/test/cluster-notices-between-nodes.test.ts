import t from 'tap'
import type { ClusterFrameMessage } from '@aip/device-server'
import { RedisCluster } from '../src/index.js'
import { connect } from './helpers/common.js'
import { redisServerOrSkip } from './helpers/redis-server.js'

const handlers = { deliver: () => true, nodeMessage: () => {}, clientLost: () => {}, stateChange: () => {} }
const frame: ClusterFrameMessage = {
  kind: 'frame',
  sessionId: 's@1',
  end: false,
  acks: 1,
  message: { type: 'heartbeat', status: 'ok', session_id: 's@1' } as unknown as ClusterFrameMessage['message'],
  text: '{"type":"heartbeat","status":"ok","session_id":"s@1"}'
}

t.test('notifyNode without Redis rejects with AIP_ERR_CLUSTER_UNAVAILABLE (nothing kept to send later)', async (t) => {
  const cluster = new RedisCluster({ url: 'redis://127.0.0.1:1', nodeId: 'n1', redis: { maxReconnectDelayMs: 100 } })
  t.teardown(async () => await cluster.stop())
  await t.rejects(cluster.notifyNode('n2', 'galaxy', frame), { code: 'AIP_ERR_CLUSTER_UNAVAILABLE' })
})

const server = await redisServerOrSkip(t)

if (server !== undefined) {
  t.test('a notice reaches the other node\'s notice handler as sent; an unreadable one is dropped; nothing is stored', async (t) => {
    const redis = await connect(t, server)
    const a = new RedisCluster({ connection: redis, nodeId: 'n1' })
    const b = new RedisCluster({ connection: redis, nodeId: 'n2' })
    const got: Array<[string, ClusterFrameMessage]> = []
    let heard: () => void = () => {}
    await a.start(handlers)
    await b.start({ ...handlers, notice: (clientId, message) => { got.push([clientId, message]); heard() } })
    t.teardown(async () => { await a.stop(); await b.stop() })
    // Node n2's doorbell is subscribed (its reader's subscription and this one share the subscriber connection).
    await new Promise<void>((resolve) => { t.teardown(redis.subscribe(redis.keys.doorbell('n2'), () => {}, resolve)) })
    const delivered = new Promise<void>((resolve) => { heard = resolve })
    // An unreadable notice first (dropped), then one from node n1: the handler hears the second only.
    await redis.run('test.publish', async (client) => await client.publish(redis.keys.doorbell('n2'), '\u0001not json\nF'))
    await a.notifyNode('n2', 'galaxy "1"', frame)
    await delivered
    t.equal(got.length, 1)
    const [clientId, message] = got[0] ?? []
    t.equal(clientId, 'galaxy "1"', 'the client id as sent')
    t.match(message, { kind: 'frame', sessionId: 's@1', end: false, acks: 1, type: 'heartbeat', text: frame.text }, 'the frame as sent')
    t.same(message?.message, JSON.parse(frame.text), 'its message, parsed from its text')
    t.same(await redis.run('test.keys', async (client) => await client.keys('*galaxy*')), [], 'nothing stored for the client')
  })
}
