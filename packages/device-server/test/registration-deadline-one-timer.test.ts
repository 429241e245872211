import { createHook } from 'node:async_hooks'
import { fileURLToPath } from 'node:url'
import { test } from 'tap'
import { CloseCode } from '@aip/endpoint'
import { TestClient, registeredDevice, startServer } from './helpers/harness.js'

const SRC = fileURLToPath(new URL('../src/', import.meta.url))

/** Counts the timers created by the package's own code (src/) that are still pending. */
function sourceTimers (t: { teardown: (fn: () => unknown) => void }): Set<number> {
  const live = new Set<number>()
  const hook = createHook({
    init (asyncId, type) {
      if (type !== 'Timeout') return
      if ((new Error('timer').stack ?? '').includes(SRC)) live.add(asyncId)
    },
    destroy (asyncId) { live.delete(asyncId) }
  })
  hook.enable()
  t.teardown(() => { hook.disable() })
  return live
}

test('one timer serves the registration deadlines of every connection; it is cleared once none is open', async (t) => {
  const live = sourceTimers(t)
  const { wsUrl, endpoint } = await startServer(t, { registrationTimeoutMs: 60_000 })
  const waiting = await Promise.all([1, 2, 3, 4].map(async () => await TestClient.connect(t, wsUrl)))
  const device = await registeredDevice(t, wsUrl, 'one-timer-dev')
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(endpoint.connectionCount, 5)
  t.equal(live.size, 1, 'five connections, one deadline timer')
  for (const client of waiting) client.ws.close(CloseCode.Normal)
  device.ws.close(CloseCode.Normal)
  await Promise.all([...waiting, device].map(async (client) => await client.closed))
  // Bounded: the server sees the closes within a few turns of the event loop.
  for (let turn = 0; turn < 50 && endpoint.connectionCount > 0; turn++) await new Promise((resolve) => setTimeout(resolve, 10))
  t.equal(endpoint.connectionCount, 0)
  for (let turn = 0; turn < 20 && live.size > 0; turn++) await new Promise((resolve) => setImmediate(resolve))
  t.equal(live.size, 0, 'the deadline timer is cleared with the last connection')
})
