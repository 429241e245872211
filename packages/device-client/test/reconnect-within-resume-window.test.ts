import { test } from 'tap'
import { ReconnectionStrategy } from '@aip/resilience'
import { client, nextEvent, startServer } from './helpers/net.js'

test('a device whose server holds its sessions waits at most a quarter of the resume window before reconnecting', async (t) => {
  const server = await startServer(t, { resumeWindowMs: 8000 })
  const strategy = new ReconnectionStrategy({ maxRetries: Infinity, initialBackoffMs: 30_000, jitter: false })
  const device = client(t, { wsUrl: server.wsUrl, clientId: 'dev1', reconnectionStrategy: strategy })
  await device.start()
  t.equal(device.grant?.resumeWindowMs, 8000, 'the server granted an 8 s window')
  const reconnecting = nextEvent(device, 'reconnecting')
  // Not a stop (which closes normally and ends the sessions): the link is lost.
  server.endpoint.terminateConnections()
  const state = await reconnecting
  t.ok(state.delayMs >= 1000 && state.delayMs <= 2000, `the 30 s backoff is capped within [1000, 2000] ms (${state.delayMs})`)
  await device.stop()
})

test('without a resume grant the backoff is the strategy\'s own', async (t) => {
  const server = await startServer(t, { resumeWindowMs: 0 })
  const strategy = new ReconnectionStrategy({ maxRetries: Infinity, initialBackoffMs: 30_000, jitter: false })
  const device = client(t, { wsUrl: server.wsUrl, clientId: 'dev1', reconnectionStrategy: strategy })
  await device.start()
  const reconnecting = nextEvent(device, 'reconnecting')
  server.endpoint.terminateConnections()
  const state = await reconnecting
  t.equal(state.delayMs, 30_000)
  await device.stop()
})
