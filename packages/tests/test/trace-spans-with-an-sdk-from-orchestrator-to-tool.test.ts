import type { AddressInfo } from 'node:net'
import { SpanKind, trace } from '@opentelemetry/api'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import Fastify from 'fastify'
import { test } from 'tap'
import { ConstellationEndpoint } from '@aip/constellation'
import { DeviceClientEndpoint } from '@aip/device-client'
import { planAgent } from '@aip/device-server'
import aipPlugin from 'fastify-aip'
import { registerSdk } from './helpers/otel-sdk.js'

// With the OpenTelemetry SDK registered (as an application does), one trace runs from the orchestrator's span to the
// tool: the constellation's task span, the server's task span under it, and the device's tool span under that, over
// real sockets. A COMMAND has no span of its own: its traceparent names the server's task span.

test('with an SDK: orchestrator → constellation task → server task → device tool, each span the parent of the next', async (t) => {
  const { provider, exporter } = registerSdk(t)

  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(aipPlugin, { agent: planAgent, token: 'sdk-token', pingIntervalMs: 0 })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const url = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/ws?token=sdk-token`
  const toolTraces: Array<string | null> = []
  const device = new DeviceClientEndpoint({
    wsUrl: url,
    clientId: 'sdk-dev',
    tools: { probe: { handler: (_params, ctx) => { toolTraces.push(ctx.traceparent); return 'ok' } } }
  })
  t.teardown(() => device.stop())
  await device.start()
  const constellation = new ConstellationEndpoint({ taskName: 'sdk_galaxy' })
  t.teardown(() => constellation.stop())
  await constellation.connectToDevice({ deviceId: 'sdk-dev', serverUrl: url })

  const plan = JSON.stringify([{ tool_name: 'probe', parameters: {} }, { tool_name: 'probe', parameters: {} }])
  const orchestrator = trace.getTracer('orchestrator')
  const result = await orchestrator.startActiveSpan('orchestrate', async (span) => {
    try { return await constellation.sendTaskToDevice('sdk-dev', { request: plan }) } finally { span.end() }
  })
  t.equal(result.status, 'completed')
  await provider.forceFlush()

  const spans = exporter.getFinishedSpans()
  const named = (name: string, kind?: SpanKind): ReadableSpan[] => spans.filter((s) => s.name === name && (kind === undefined || s.kind === kind))
  const root = named('orchestrate')[0]
  const clientTask = named('aip.task', SpanKind.CLIENT)[0]
  const serverTask = named('aip.task', SpanKind.SERVER)[0]
  const tools = named('aip.tool')
  if (root === undefined || clientTask === undefined || serverTask === undefined) {
    t.fail(`missing spans: ${spans.map((s) => s.name).join(', ')}`)
    return
  }
  const traceId = root.spanContext().traceId
  t.ok(spans.every((s) => s.spanContext().traceId === traceId), 'every span is in the orchestrator\'s trace')
  t.equal(clientTask.parentSpanContext?.spanId, root.spanContext().spanId, 'the constellation\'s task span is under the orchestrator\'s')
  t.equal(serverTask.parentSpanContext?.spanId, clientTask.spanContext().spanId, 'the server\'s task span is under the constellation\'s')
  t.equal(serverTask.parentSpanContext?.isRemote, true, 'a remote parent: it came in the TASK')
  t.match(serverTask.attributes, { 'aip.session_id': result.sessionId, 'aip.device_id': 'sdk-dev' })
  t.equal(tools.length, 2, 'one span per tool call')
  t.ok(tools.every((s) => s.parentSpanContext?.spanId === serverTask.spanContext().spanId), 'each tool span is under the server\'s task span')
  t.same(toolTraces.map((tp) => tp?.split('-')[2]).sort(), tools.map((s) => s.spanContext().spanId).sort(), 'each tool call sees its own span')
  t.same(named('aip.command'), [], 'no span per COMMAND')
  t.same(serverTask.events, [], 'COMMANDs that ended well leave no event')
  t.equal(spans.length, 5, 'orchestrator, two task spans, two tool spans')
})
