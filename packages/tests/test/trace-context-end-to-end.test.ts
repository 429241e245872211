import type { AddressInfo } from 'node:net'
import Fastify from 'fastify'
import { test } from 'tap'
import { ConstellationEndpoint } from '@aip/constellation'
import { DeviceClientEndpoint } from '@aip/device-client'
import { planAgent } from '@aip/device-server'
import aipPlugin from 'fastify-aip'

// One trace from the orchestrator to the tool: a traceparent in the TASK's metadata reaches the server's task span,
// the COMMAND it sends, and the tool call on the device, each hop under a span id of its own.

const PARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
const TRACE_ID = '0af7651916cd43dd8448eb211c80319c'

test('sendTaskToDevice → TASK metadata → COMMAND → tool: one trace id, a new span per hop', async (t) => {
  const lines: Array<Record<string, unknown>> = []
  const app = Fastify({ logger: { level: 'info', stream: { write: (line: string) => { lines.push(JSON.parse(line) as Record<string, unknown>) } } } })
  t.teardown(() => app.close())
  await app.register(aipPlugin, { agent: planAgent, token: 'trace-token', pingIntervalMs: 0 })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const url = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/ws?token=trace-token`

  const toolTraces: Array<string | null> = []
  const device = new DeviceClientEndpoint({
    wsUrl: url,
    clientId: 'trace-dev',
    tools: { probe: { handler: (_params, ctx) => { toolTraces.push(ctx.traceparent); return 'ok' } } }
  })
  t.teardown(() => device.stop())
  await device.start()
  const constellation = new ConstellationEndpoint({ taskName: 'trace_galaxy' })
  t.teardown(() => constellation.stop())
  await constellation.connectToDevice({ deviceId: 'trace-dev', serverUrl: url })

  const plan = JSON.stringify([{ tool_name: 'probe', parameters: {} }])
  const traced = await constellation.sendTaskToDevice('trace-dev', { request: plan, metadata: { traceparent: PARENT } })
  t.equal(traced.status, 'completed')
  t.equal(toolTraces.length, 1)
  const toolTrace = toolTraces[0] as string
  t.match(toolTrace, new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`), 'the tool call runs in the same trace')
  t.not(toolTrace.split('-')[2], PARENT.split('-')[2], 'under a span of its own')
  const taskLines = lines.filter((line) => line.sessionId === traced.sessionId)
  t.ok(taskLines.length >= 2, 'the server logged the task')
  t.ok(taskLines.every((line) => line.traceId === TRACE_ID), 'with the trace id on every line of it')

  const plain = await constellation.sendTaskToDevice('trace-dev', { request: plan })
  t.equal(plain.status, 'completed')
  t.equal(toolTraces[1], null, 'without a trace context (and no OpenTelemetry SDK), nothing is propagated')
})
