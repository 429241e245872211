import t from 'tap'
import { buildServerHeartbeat, buildTaskAck } from '@aip/protocol'
import { startHeartbeat } from '../src/flows/heartbeat.js'
import { keepAlive, linkedProtocols, nextEvent } from './helpers.js'

t.test('heartbeats carry the registered client_type and are acked by the server\'s HEARTBEAT ok', async (t) => {
  keepAlive(t)
  const { client, server } = linkedProtocols()
  t.teardown(() => client.close())
  const types: string[] = []
  server.onMessage('heartbeat', async (message) => {
    types.push(message.client_type)
    await server.send(buildServerHeartbeat())
  })
  const heartbeat = startHeartbeat(client, { clientId: 'c1', clientType: 'constellation', intervalMs: 5 })
  t.teardown(heartbeat.stop)
  const ack = await nextEvent<{ clientId: string, rttMs: number }>(heartbeat, 'ack')
  t.equal(ack.clientId, 'c1')
  t.same(types, ['constellation'])
})

t.test('a server that stops answering is declared dead; a task ack is not a heartbeat ack', async (t) => {
  keepAlive(t)
  const { client, server } = linkedProtocols()
  t.teardown(() => client.close())
  server.onMessage('heartbeat', async () => { await server.send(buildTaskAck({ sessionId: 's' })) })
  const heartbeat = startHeartbeat(client, { clientId: 'd1', clientType: 'device', intervalMs: 5, maxMissedAcks: 2 })
  t.teardown(heartbeat.stop)
  const dead = await nextEvent<{ missedAcks: number }>(heartbeat, 'dead')
  t.equal(dead.missedAcks, 2)
})

t.test('the heartbeat stops by itself when the connection closes', async (t) => {
  const { client, server } = linkedProtocols()
  const heartbeat = startHeartbeat(client, { clientId: 'd1', clientType: 'device', intervalMs: 5_000 })
  t.equal(heartbeat.manager.activeCount, 1)
  const closed = nextEvent(client, 'close')
  server.close()
  await closed
  t.equal(heartbeat.manager.activeCount, 0)
  heartbeat.stop()
})
