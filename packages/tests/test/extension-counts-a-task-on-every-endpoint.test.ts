import type { AddressInfo } from 'node:net'
import Fastify from 'fastify'
import { test } from 'tap'
import { ConstellationEndpoint } from '@aip/constellation'
import { DeviceClientEndpoint } from '@aip/device-client'
import type { AnyMessage, Extension, ExtensionContext } from '@aip/endpoint'
import { planAgent } from '@aip/device-server'
import aipPlugin from 'fastify-aip'

// The one protocol engine: the same extension, registered with use() on the server, the device and the
// constellation, sees every frame of one task on each of them, in and out.

/** Counts frames by direction and type; `>` is sent, `<` is received. */
class FrameCounter implements Extension {
  readonly name = 'frame-counter'
  readonly counts = new Map<string, number>()
  readonly #waiters = new Map<string, () => void>()

  onSend = (message: AnyMessage, _info: unknown, _context: ExtensionContext): void => { this.#count(`> ${message.type}`) }
  onReceive = (message: AnyMessage, _info: unknown, _context: ExtensionContext): void => { this.#count(`< ${message.type}`) }

  /** Resolves once a frame of `key` has been counted. */
  async seen (key: string): Promise<void> {
    if (this.counts.has(key)) return
    await new Promise<void>((resolve) => this.#waiters.set(key, resolve))
  }

  /** The counts as a plain object, keys sorted. */
  snapshot (): Record<string, number> {
    return Object.fromEntries([...this.counts.entries()].sort(([a], [b]) => a.localeCompare(b)))
  }

  #count (key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1)
    this.#waiters.get(key)?.()
    this.#waiters.delete(key)
  }
}

test('an extension registered with use() counts the frames of a full task on the server, the device and the constellation', async (t) => {
  // Long intervals: no periodic heartbeat or ping frame may land inside the counted task.
  const quiet = 600_000
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(aipPlugin, { agent: planAgent, token: 'count-token', pingIntervalMs: 0 })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const url = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/ws?token=count-token`
  const onServer = new FrameCounter()
  app.aip.use(onServer)

  const device = new DeviceClientEndpoint({
    wsUrl: url,
    clientId: 'count-dev',
    heartbeatIntervalMs: quiet,
    pingIntervalMs: quiet,
    tools: { probe: { handler: () => 'ok' } }
  })
  t.teardown(() => device.stop())
  const onDevice = new FrameCounter()
  device.use(onDevice)
  await device.start()

  const constellation = new ConstellationEndpoint({ taskName: 'count_galaxy', heartbeatIntervalMs: quiet })
  t.teardown(() => constellation.stop())
  const onConstellation = new FrameCounter()
  constellation.use(onConstellation)
  await constellation.connectToDevice({ deviceId: 'count-dev', serverUrl: url })

  const end = await constellation.sendTaskToDevice('count-dev', {
    request: JSON.stringify([{ tool_name: 'probe', parameters: {} }])
  })
  t.equal(end.status, 'completed')

  // The server sent the device its TASK_END too; the device may count it just after the constellation's.
  await onDevice.seen('< task_end')

  t.same(onConstellation.snapshot(), {
    '< heartbeat': 2, // the registration answer and the task's ack
    '< task_end': 1,
    '> register': 1,
    '> task': 1
  }, 'the constellation: REGISTER, TASK out; registration answer, ack, TASK_END in')
  t.same(onDevice.snapshot(), {
    '< command': 1,
    '< heartbeat': 1, // the registration answer
    '< task_end': 1,
    '> command_results': 1,
    '> register': 1
  }, 'the device: REGISTER and COMMAND_RESULTS out; registration answer, COMMAND, TASK_END in')
  t.same(onServer.snapshot(), {
    '< command_results': 1,
    '< register': 2,
    '< task': 1,
    '> command': 1,
    '> heartbeat': 3, // two registration answers and the task's ack
    '> task_end': 2 // to the constellation and to the device
  }, 'the server: both sides of every frame above')
})
