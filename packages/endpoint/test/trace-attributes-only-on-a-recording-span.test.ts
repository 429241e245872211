import { context, trace, type Attributes, type Span, type SpanContext, type SpanOptions, type Tracer, type TracerProvider } from '@opentelemetry/api'
import { test } from 'tap'
import { startTraceSpan } from '../src/index.js'

const PARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'

/** A provider whose spans record (`sampled`) or not, keeping what each span was started with and given. */
function provider (sampled: boolean): { provider: TracerProvider, started: SpanOptions[], set: Attributes[] } {
  const started: SpanOptions[] = []
  const set: Attributes[] = []
  const tracer: Tracer = {
    startSpan (_name: string, options: SpanOptions = {}, ctx = context.active()): Span {
      started.push(options)
      const own: SpanContext = { traceId: trace.getSpanContext(ctx)?.traceId ?? 'b'.repeat(32), spanId: '1'.repeat(16), traceFlags: sampled ? 1 : 0 }
      const span = trace.wrapSpanContext(own)
      return Object.assign(Object.create(span) as Span, {
        spanContext: () => own,
        isRecording: () => sampled,
        setAttributes: (attributes: Attributes) => { set.push(attributes); return span }
      })
    },
    startActiveSpan: (() => { throw new Error('unused') }) as Tracer['startActiveSpan']
  }
  return { provider: { getTracer: () => tracer }, started, set }
}

test('span attributes are built and set only on a span that records', async (t) => {
  t.teardown(() => { trace.disable() })
  let built = 0
  const attributes = (): Attributes => { built++; return { 'aip.session_id': 's1' } }

  const quiet = startTraceSpan('@aip/test', 'aip.task', { parent: PARENT, attributes })
  t.equal(quiet.recording, false)
  t.equal(built, 0, 'without an SDK they are never built')

  const off = provider(false)
  t.ok(trace.setGlobalTracerProvider(off.provider))
  const dropped = startTraceSpan('@aip/test', 'aip.task', { parent: PARENT, attributes })
  t.equal(dropped.recording, false)
  t.equal(built, 0, 'a span sampled out never builds them')
  t.same(off.set, [], 'nor is given any')
  t.equal(off.started[0]?.attributes, undefined, 'the span starts without them')

  trace.disable()
  const on = provider(true)
  t.ok(trace.setGlobalTracerProvider(on.provider))
  const kept = startTraceSpan('@aip/test', 'aip.task', { parent: PARENT, attributes })
  t.equal(kept.recording, true)
  t.equal(built, 1, 'a recording span builds them once')
  t.same(on.set, [{ 'aip.session_id': 's1' }], 'and they are set on it')
  startTraceSpan('@aip/test', 'aip.tool', { parent: PARENT, attributes: { 'aip.tool_name': 'x' } })
  t.same(on.set[1], { 'aip.tool_name': 'x' }, 'an attributes object is set as it is')
})
