import { buildServerHeartbeat } from '@aip/protocol'
import { test } from 'tap'
import { nextEvent } from '@aip/test-support'
import { echoDevice, registeredConstellation, registeredDevice, startServer, until } from './helpers/harness.js'

test('an extension use()d on the server counts every frame of a full task, in and out, on every connection', async (t) => {
  const server = await startServer(t)
  const received: string[] = []
  const sent: string[] = []
  const stop = server.endpoint.use({
    name: 'counter',
    onReceive: (message) => { received.push(message.type) },
    onSend: (message) => { sent.push(message.type) }
  })
  const device = await registeredDevice(t, server.wsUrl, 'dev1')
  echoDevice(device, 'dev1')
  const galaxy = await registeredConstellation(t, server.wsUrl, 'galaxy', 'dev1')
  galaxy.send({ type: 'task', status: 'continue', client_type: 'constellation', client_id: 'galaxy', target_id: 'dev1', session_id: 's1', request: 'list tools' })
  const ended = nextEvent(server.endpoint, 'taskEnd')
  t.match((await until(galaxy, (f) => f.type === 'task_end')).frame, { session_id: 's1', status: 'completed' })
  await until(device, (f) => f.type === 'task_end')
  await ended
  t.same(received.sort(), ['command_results', 'register', 'register', 'task'], 'REGISTER twice, the TASK and the COMMAND_RESULTS')
  t.same(sent.sort(), ['command', 'heartbeat', 'heartbeat', 'heartbeat', 'task_end', 'task_end'],
    'two registration answers, the ack, the COMMAND and the TASK_END to the requester and its copy to the device')
  stop()
  await device.ask({ type: 'heartbeat', status: 'ok', client_type: 'device', client_id: 'dev1' })
  t.equal(received.length, 4, 'removed from every connection: the next frame is not counted')
})

test('the lifecycle is observable: created, started, listening, handling while a task runs, listening, stopped', async (t) => {
  const server = await startServer(t)
  const states: string[] = [server.endpoint.state]
  server.endpoint.on('stateChange', ({ to }) => { states.push(to) })
  await server.endpoint.start()
  const device = await registeredDevice(t, server.wsUrl, 'dev1')
  echoDevice(device, 'dev1')
  device.send({ type: 'task', status: 'continue', client_type: 'device', client_id: 'dev1', session_id: 's1', request: 'list tools' })
  await until(device, (f) => f.type === 'task_end')
  await server.endpoint.stop()
  t.same(states, ['created', 'started', 'listening', 'handling', 'listening', 'stopped'])
  t.equal(server.endpoint.state, 'stopped')
  await t.rejects(server.endpoint.start(), { code: 'AIP_ERR_SERVER_STOPPED' })
})

test('sendWithTimeout, receiveWithTimeout and isConnected act on the connection of a client id', async (t) => {
  const server = await startServer(t)
  const device = await registeredDevice(t, server.wsUrl, 'dev1')
  t.equal(server.endpoint.isConnected('dev1'), true, 'by client id')
  t.equal(server.endpoint.isConnected('nobody'), false)
  t.equal(server.endpoint.isConnected('c1'), true, 'by connection id')
  await server.endpoint.sendWithTimeout(buildServerHeartbeat(), 1000, 'dev1')
  t.match(await device.next(), { type: 'heartbeat', status: 'ok' }, 'the frame reached that client')
  const heard = server.endpoint.receiveWithTimeout('heartbeat', 1000, 'dev1')
  device.send({ type: 'heartbeat', status: 'ok', client_type: 'device', client_id: 'dev1' })
  t.match(await heard, { type: 'heartbeat', client_id: 'dev1' }, 'the next frame of that client')
  await t.rejects(server.endpoint.sendWithTimeout(buildServerHeartbeat(), 1000, 'nobody'), { code: 'AIP_ERR_ENDPOINT_NOT_CONNECTED' })
})
