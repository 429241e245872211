import { context, trace, type Span, type SpanContext, type SpanOptions, type Tracer } from '@opentelemetry/api'
import { test } from 'tap'
import { parseTraceparent, startTraceSpan } from '../src/index.js'

const PARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'

/** An SDK whose spans record or not, each with the context `own` gives it under its parent. */
function register (recording: boolean, own: (parent: SpanContext | undefined) => SpanContext): void {
  const tracer: Tracer = {
    startSpan (_name: string, _options?: SpanOptions, ctx = context.active()): Span {
      const spanContext = own(trace.getSpanContext(ctx))
      return Object.assign(Object.create(trace.wrapSpanContext(spanContext)) as Span, { spanContext: () => spanContext, isRecording: () => recording })
    },
    startActiveSpan: (() => { throw new Error('unused') }) as Tracer['startActiveSpan']
  }
  trace.setGlobalTracerProvider({ getTracer: () => tracer })
}

test('a recording span names the next hop with the ids its SDK drew; a span that records nothing gets ids of its own when the SDK gave none', async (t) => {
  t.teardown(() => { trace.disable() })
  const drawn: SpanContext = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '1234567890abcdef', traceFlags: 1 }
  register(true, () => drawn)
  const recorded = startTraceSpan('@aip/test', 'aip.task', { parent: PARENT })
  t.equal(recorded.recording, true)
  t.equal(recorded.traceparent, '00-4bf92f3577b34da6a3ce929d0e0e4736-1234567890abcdef-01', 'the SDK span, as it is')
  t.equal(recorded.traceId, drawn.traceId)
  recorded.end()

  trace.disable()
  // A span that records nothing and carries its parent's context (as the API's no-op tracer hands it back).
  register(false, (parent) => parent ?? drawn)
  const quiet = startTraceSpan('@aip/test', 'aip.task', { parent: PARENT })
  t.equal(quiet.recording, false)
  const own = parseTraceparent(quiet.traceparent)
  t.equal(own?.traceId, '4bf92f3577b34da6a3ce929d0e0e4736', 'under the parent trace')
  t.not(own?.spanId, '00f067aa0ba902b7', 'with a span id of its own, not the parent\'s')
  quiet.end()
})
