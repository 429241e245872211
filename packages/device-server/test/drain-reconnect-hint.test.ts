import { test } from 'tap'
import { Clock } from '@tapjs/clock'
import { CloseCode } from '@aip/endpoint'
import { readDrainHint } from '@aip/protocol'
import { closeSchedule } from '../src/internal.js'
import { registeredConstellation, registeredDevice, startServer, type Closed } from './helpers/harness.js'

test('the end of a drain closes the fleet with 1012 and the reconnect hint, spread over drainReconnectSpreadMs', async (t) => {
  const { wsUrl, endpoint } = await startServer(t, { drainRetryMs: 3000, drainReconnectSpreadMs: 900 })
  const fleet = []
  for (const id of ['d1', 'd2', 'd3']) fleet.push(await registeredDevice(t, wsUrl, id))
  fleet.push(await registeredConstellation(t, wsUrl, 'g1', 'd1'))
  const closes: Array<Closed | null> = fleet.map(() => null)
  const arrivals = fleet.map((client, i) => client.closed.then((closed) => { closes[i] = closed }))

  // The spread runs on a fake clock: each step below lets exactly one batch of closes out.
  const clock = new Clock()
  clock.enter()
  t.teardown(() => clock.exit())
  const drained = endpoint.drain({ deadlineMs: 0 })
  await arrivals[0]
  t.same(closes.map((c) => c !== null), [true, false, false, false], 'the first close goes at once, the others wait')
  for (const [step, i] of [[225, 1], [225, 2], [225, 3]] as const) {
    clock.advance(step)
    await arrivals[i]
    t.same(closes.map((c) => c !== null), fleet.map((_c, j) => j <= i), `after ${225 * i} ms: ${i + 1} closed`)
  }
  t.same(await drained, { finished: 0, cancelled: 0 }, 'drain() resolves once every connection is closed')
  for (const closed of closes) {
    t.equal(closed?.code, CloseCode.ServiceRestart, 'service restart, not going away')
    t.equal(closed?.reason, 'aip-drain retry-ms=3000')
    t.same(readDrainHint(closed?.code ?? 0, closed?.reason), { retryMs: 3000 }, 'a client reads the hint')
  }
})

test('stop() alone keeps 1001 without a hint; a spread of 0 closes everyone at once', async (t) => {
  const stopped = await startServer(t)
  const device = await registeredDevice(t, stopped.wsUrl, 'dev-stop')
  await stopped.endpoint.stop()
  const closed = await device.closed
  t.equal(closed.code, CloseCode.GoingAway)
  t.equal(readDrainHint(closed.code, closed.reason), null)

  const { wsUrl, endpoint } = await startServer(t, { drainReconnectSpreadMs: 0 })
  const a = await registeredDevice(t, wsUrl, 'dev-a')
  const b = await registeredDevice(t, wsUrl, 'dev-b')
  t.same(await endpoint.drain({ deadlineMs: 0 }), { finished: 0, cancelled: 0 })
  t.same(await a.closed, { code: 1012, reason: 'aip-drain retry-ms=5000' }, 'the default hint')
  t.same(await b.closed, { code: 1012, reason: 'aip-drain retry-ms=5000' })
})

test('the close schedule: batches of consecutive connections, the first at once, at most one batch per 10 ms', async (t) => {
  t.same(closeSchedule(0, 1000), [])
  t.same(closeSchedule(3, 0), [{ delayMs: 0, from: 0, to: 3 }], 'no spread: one batch')
  t.same(closeSchedule(4, 1000), [
    { delayMs: 0, from: 0, to: 1 }, { delayMs: 250, from: 1, to: 2 }, { delayMs: 500, from: 2, to: 3 }, { delayMs: 750, from: 3, to: 4 }
  ])
  const many = closeSchedule(10_000, 1000)
  t.equal(many.length, 101, 'a batch per 10 ms, not a timer per connection')
  t.equal(many.reduce((n, batch) => n + batch.to - batch.from, 0), 10_000, 'every connection once')
  t.ok(many.every((batch, i) => i === 0 || batch.from === (many[i - 1]?.to ?? -1)), 'consecutive')
  t.ok(many.every((batch) => batch.delayMs < 1000), 'all within the window')
})

test('drain options are checked', async (t) => {
  const { DeviceServerEndpoint } = await import('../src/index.js')
  t.throws(() => new DeviceServerEndpoint({ drainRetryMs: 60_001 }), { code: 'AIP_ERR_INVALID_OPTION', option: 'drainRetryMs' })
  t.throws(() => new DeviceServerEndpoint({ drainRetryMs: -1 }), { code: 'AIP_ERR_INVALID_OPTION', option: 'drainRetryMs' })
  t.throws(() => new DeviceServerEndpoint({ drainReconnectSpreadMs: -5 }), { code: 'AIP_ERR_INVALID_OPTION', option: 'drainReconnectSpreadMs' })
})
