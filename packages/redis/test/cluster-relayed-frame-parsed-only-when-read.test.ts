import t, { type Test } from 'tap'
import type { ClusterFrameMessage } from '@aip/device-server'
import { RedisCluster } from '../src/index.js'
import { connect } from './helpers/common.js'
import { redisServerOrSkip } from './helpers/redis-server.js'
import type { RedisConnection } from '../src/index.js'

const handlers = { deliver: () => true, nodeMessage: () => {}, clientLost: () => {}, stateChange: () => {} }
const text = '{"type":"task_end","status":"completed","session_id":"s@1","result":{"done":true}}'
const frame: ClusterFrameMessage = {
  kind: 'frame',
  sessionId: 's@1',
  end: true,
  acks: 1,
  type: 'task_end',
  message: JSON.parse(text) as ClusterFrameMessage['message'],
  text
}

/** Node n2 of a two-node cluster on `redis`, with what its notice handler got. */
async function twoNodes (t: Test, redis: RedisConnection): Promise<{ a: RedisCluster, got: ClusterFrameMessage[], next: () => Promise<ClusterFrameMessage> }> {
  const a = new RedisCluster({ connection: redis, nodeId: 'n1' })
  const b = new RedisCluster({ connection: redis, nodeId: 'n2' })
  const got: ClusterFrameMessage[] = []
  let heard: (frame: ClusterFrameMessage) => void = () => {}
  await a.start(handlers)
  await b.start({ ...handlers, notice: (_clientId, message) => { got.push(message); heard(message) } })
  t.teardown(async () => { await a.stop(); await b.stop() })
  await new Promise<void>((resolve) => { t.teardown(redis.subscribe(redis.keys.doorbell('n2'), () => {}, resolve)) })
  return { a, got, next: async () => await new Promise((resolve) => { heard = resolve }) }
}

/** Counts the calls of `JSON.parse` with `text` until the test ends. */
function parsesOf (t: Test, text: string): { count: number } {
  const parse = JSON.parse
  const calls = { count: 0 }
  JSON.parse = ((value: string, reviver?: Parameters<typeof parse>[1]) => {
    if (value === text) calls.count++
    return parse(value, reviver)
  }) as typeof JSON.parse
  t.teardown(() => { JSON.parse = parse })
  return calls
}

const server = await redisServerOrSkip(t)

if (server !== undefined) {
  t.test('a relayed frame reaches the requester\'s node with its type, its text parsed only when its message is read', async (t) => {
    const redis = await connect(t, server)
    const { a, next } = await twoNodes(t, redis)
    const parses = parsesOf(t, text)
    const arrived = next()
    await a.notifyNode('n2', 'galaxy', frame)
    const got = await arrived
    t.match(got, { kind: 'frame', sessionId: 's@1', end: true, acks: 1, type: 'task_end', text }, 'the entry header and the text as sent')
    t.equal(parses.count, 0, 'the text not parsed on arrival')
    t.same(got.message, frame.message, 'the message, when read')
    t.same(got.message, frame.message)
    t.equal(parses.count, 1, 'parsed once, on the first read')
  })

  t.test('frame entries of earlier versions (no acks, no type in the header) still decode', async (t) => {
    const redis = await connect(t, server)
    const { next } = await twoNodes(t, redis)
    const publish = async (notice: string): Promise<ClusterFrameMessage> => {
      const arrived = next()
      await redis.run('test.publish', async (client) => await client.publish(redis.keys.doorbell('n2'), notice))
      return await arrived
    }
    const twoFields = await publish(`\u0001"galaxy"\nF["s@1",true]\n${text}`)
    t.match(twoFields, { kind: 'frame', sessionId: 's@1', end: true, acks: 0, type: 'task_end', text }, '[sessionId, end]: no acks')
    t.same(twoFields.message, frame.message)
    const threeFields = await publish(`\u0001"galaxy"\nF["s@1",false,2]\n${text}`)
    t.match(threeFields, { kind: 'frame', sessionId: 's@1', end: false, acks: 2, type: 'task_end', text }, '[sessionId, end, acks]: the type read from the text')
    t.same(threeFields.message, frame.message)
  })
}
