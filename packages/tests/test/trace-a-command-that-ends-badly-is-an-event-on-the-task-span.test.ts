import type { AddressInfo } from 'node:net'
import { SpanKind, SpanStatusCode } from '@opentelemetry/api'
import Fastify from 'fastify'
import { test } from 'tap'
import { ConstellationEndpoint } from '@aip/constellation'
import { DeviceClientEndpoint } from '@aip/device-client'
import type { Agent } from '@aip/device-server'
import aipPlugin from 'fastify-aip'
import { registerSdk } from './helpers/otel-sdk.js'

// A COMMAND has no span of its own: one that does not end well (cancelled here, as a timeout would) is recorded as an
// `aip.command` event on the server's task span, with its response id and how it ended.

test('with an SDK, a cancelled COMMAND is an aip.command event on the failed task span; one that ends well is not', async (t) => {
  const { provider, exporter } = registerSdk(t)

  const stop = new AbortController()
  const sent: string[] = []
  const agent: Agent = async (_task, ctx) => {
    await ctx.execute([{ tool_name: 'probe', parameters: {}, tool_type: 'action' }])
    // The device aborts this one (its tool runs `stop.abort()`): the COMMAND ends cancelled, and the task with it.
    await ctx.execute([{ tool_name: 'halt', parameters: {}, tool_type: 'action' }], { signal: stop.signal })
    return { status: 'completed' }
  }
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(aipPlugin, { agent, token: 'event-token', pingIntervalMs: 0 })
  app.aip.on('commandEnd', (event) => { sent.push(event.status) })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const url = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/ws?token=event-token`
  const device = new DeviceClientEndpoint({
    wsUrl: url,
    clientId: 'event-dev',
    tools: {
      probe: { handler: () => 'ok' },
      halt: { handler: () => { stop.abort(); return 'late' } }
    }
  })
  t.teardown(() => device.stop())
  await device.start()
  const constellation = new ConstellationEndpoint({ taskName: 'event_galaxy' })
  t.teardown(() => constellation.stop())
  await constellation.connectToDevice({ deviceId: 'event-dev', serverUrl: url })

  const result = await constellation.sendTaskToDevice('event-dev', { request: 'two commands' })
  t.equal(result.status, 'failed', 'the task was cancelled')
  t.same(sent, ['ok', 'cancelled'], 'the first COMMAND ended well, the second was cancelled')
  await provider.forceFlush()
  const serverTask = exporter.getFinishedSpans().find((s) => s.name === 'aip.task' && s.attributes['aip.session_id'] === result.sessionId && s.attributes['aip.device_id'] === 'event-dev' && s.kind === SpanKind.SERVER)
  if (serverTask === undefined) {
    t.fail('no server task span')
    return
  }
  t.equal(serverTask.events.length, 1, 'one event: the COMMAND that did not end well')
  t.match(serverTask.events[0], { name: 'aip.command', attributes: { 'aip.command.status': 'cancelled', 'aip.response_id': String } })
  t.equal(serverTask.status.code, SpanStatusCode.ERROR, 'the task span says the task failed')
  t.same(exporter.getFinishedSpans().filter((s) => s.name === 'aip.command'), [], 'no span per COMMAND')
})
