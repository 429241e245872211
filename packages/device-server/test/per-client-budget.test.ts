import { test } from 'tap'
import { DeviceServerEndpoint } from '../src/index.js'
import { Texts } from '../src/internal.js'
import { startServer, registeredDevice } from './helpers/harness.js'

const task = (clientId: string, sessionId: string, request = 'hold'): Record<string, unknown> =>
  ({ type: 'task', status: 'continue', client_type: 'device', client_id: clientId, session_id: sessionId, request })

test('a client may have maxSessionsPerClient tasks running; the next is refused, and a finished one frees its slot', async (t) => {
  const server = await startServer(t, { maxSessionsPerClient: 1 })
  const device = await registeredDevice(t, server.wsUrl, 'd1')
  device.send(task('d1', 's1'))
  t.match(await device.next(), { type: 'heartbeat', session_id: 's1' })
  const command = await device.next()
  t.equal(command.type, 'command')
  device.send(task('d1', 's2'))
  t.match(await device.next(), { type: 'error', error: Texts.tooManyClientSessions, session_id: 's2' })
  const other = await registeredDevice(t, server.wsUrl, 'd2')
  other.send(task('d2', 'o1'))
  t.match(await other.next(), { type: 'heartbeat', session_id: 'o1' }, 'another client is not affected')
  device.send({ type: 'command_results', status: 'continue', client_type: 'device', client_id: 'd1', session_id: 's1', prev_response_id: command.response_id, action_results: [] })
  t.match(await device.next(), { type: 'task_end', session_id: 's1' })
  device.send(task('d1', 's3'))
  t.match(await device.next(), { type: 'heartbeat', session_id: 's3' }, 'the slot is free again')
})

test('the bytes of a client\'s running TASK frames are capped, and a request longer than maxRequestBytes is refused', async (t) => {
  const server = await startServer(t, { maxSessionBytesPerClient: 600, maxRequestBytes: 1000 })
  const device = await registeredDevice(t, server.wsUrl, 'd1')
  device.send(task('d1', 'b1', 'x'.repeat(300)))
  t.match(await device.next(), { type: 'heartbeat', session_id: 'b1' })
  await device.next()
  device.send(task('d1', 'b2', 'x'.repeat(300)))
  t.match(await device.next(), { type: 'error', error: Texts.clientSessionsTooLarge, session_id: 'b2' })
  device.send(task('d1', 'b3', 'é'.repeat(600)))
  t.match(await device.next(), { type: 'error', error: 'TASK request is longer than 1000 bytes', session_id: 'b3' }, 'measured in UTF-8 bytes')
})

test('dispatch refuses a request longer than maxRequestBytes', async (t) => {
  const endpoint = new DeviceServerEndpoint({ maxRequestBytes: 4 })
  await t.rejects(endpoint.dispatch('d1', 'too long'), { code: 'AIP_ERR_SERVER_REQUEST_TOO_LARGE', statusCode: 413 })
  await endpoint.stop()
})

test('shares come back whole when requesters take turns: counts and bytes as if no task had run', async (t) => {
  const server = await startServer(t, { maxSessionsPerClient: 1, maxSessionBytesPerClient: 600 })
  const one = await registeredDevice(t, server.wsUrl, 'd1')
  const two = await registeredDevice(t, server.wsUrl, 'd2')
  const run = async (device: typeof one, clientId: string, sessionId: string): Promise<void> => {
    device.send(task(clientId, sessionId, 'x'.repeat(300)))
    t.match(await device.next(), { type: 'heartbeat', session_id: sessionId })
    const command = await device.next()
    device.send({ type: 'command_results', status: 'continue', client_type: 'device', client_id: clientId, session_id: sessionId, prev_response_id: command.response_id, action_results: [] })
    t.match(await device.next(), { type: 'task_end', session_id: sessionId })
  }
  for (let i = 0; i < 3; i++) {
    await run(one, 'd1', `one-${i}`)
    await run(two, 'd2', `two-${i}`)
  }
  one.send(task('d1', 'held', 'x'.repeat(300)))
  t.match(await one.next(), { type: 'heartbeat', session_id: 'held' }, 'the whole byte budget is free again')
  await one.next()
  one.send(task('d1', 'second', 'y'))
  t.match(await one.next(), { type: 'error', error: Texts.tooManyClientSessions, session_id: 'second' }, 'and the count still holds')
  two.send(task('d2', 'other', 'x'.repeat(300)))
  t.match(await two.next(), { type: 'heartbeat', session_id: 'other' })
})
