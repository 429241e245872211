import { test } from 'tap'
import { ConstellationEndpoint } from '../src/index.js'
import { connectedConstellation, grantingServer, nextEvent, taskEnd, useClock } from './continuity-helpers.js'

test('with deadline granted, each TASK carries metadata.aip_timeout_ms: the ms left of its deadline when written', async (t) => {
  const server = await grantingServer(t, ['deadline'])
  const constellation = new ConstellationEndpoint({ taskName: 'g', taskTimeoutMs: 60_000 })
  t.teardown(() => constellation.stop())
  await constellation.connectToDevice({ deviceId: 'dev1', serverUrl: server.url })
  const clock = useClock(t)
  const acked = nextEvent(constellation, 'taskAck')
  const first = constellation.sendTaskToDevice('dev1', { request: 'a', taskId: 'a', timeoutMs: 5000, metadata: { priority: 'high' } })
  const second = constellation.sendTaskToDevice('dev1', { request: 'b', taskId: 'b', timeoutMs: 5000 })
  const third = constellation.sendTaskToDevice('dev1', { request: 'c', taskId: 'c' })
  await acked
  // The second waits in the queue for 1.2 s of its 5 s.
  clock.advance(1200)
  let ack = nextEvent(constellation, 'taskAck')
  server.socket().send(taskEnd('g@a'))
  t.equal((await first).status, 'completed')
  await ack
  ack = nextEvent(constellation, 'taskAck')
  server.socket().send(taskEnd('g@b'))
  await second
  await ack
  server.socket().send(taskEnd('g@c'))
  await third
  const metadata = server.frames.map((f) => f.metadata)
  t.same(metadata, [
    { priority: 'high', aip_timeout_ms: 5000 },
    { aip_timeout_ms: 3800 },
    { aip_timeout_ms: 60_000 - 1200 }
  ], 'the caller\'s metadata kept; the time left when each TASK was written')
})

test('without deadline granted, the TASK metadata is the caller\'s as given', async (t) => {
  const server = await grantingServer(t, ['resume', 'cancel'])
  const constellation = await connectedConstellation(t, server.url)
  const acked = nextEvent(constellation, 'taskAck')
  const first = constellation.sendTaskToDevice('dev1', { request: 'a', taskId: 'a', timeoutMs: 5000, metadata: { priority: 'high' } })
  const second = constellation.sendTaskToDevice('dev1', { request: 'b', taskId: 'b', timeoutMs: 5000 })
  await acked
  const ack = nextEvent(constellation, 'taskAck')
  server.socket().send(taskEnd('g@a'))
  await first
  await ack
  server.socket().send(taskEnd('g@b'))
  await second
  t.same(server.frames.map((f) => f.metadata), [{ priority: 'high' }, null])
})
