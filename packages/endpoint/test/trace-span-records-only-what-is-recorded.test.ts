import { context, trace, type Span, type SpanContext, type SpanOptions, type Tracer, type TracerProvider } from '@opentelemetry/api'
import { test } from 'tap'
import { parseTraceparent, startTraceSpan } from '../src/index.js'

const PARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736'

interface Recorded { name: string, parent: SpanContext | undefined, calls: string[] }

/** A provider whose tracers record what is done to their spans; `sampled: false` hands out non-recording spans. */
function recordingProvider (sampled: boolean): { provider: TracerProvider, spans: Recorded[], tracersMade: string[] } {
  const spans: Recorded[] = []
  const tracersMade: string[] = []
  let next = 1
  const provider: TracerProvider = {
    getTracer (name: string): Tracer {
      tracersMade.push(name)
      return {
        startSpan (spanName: string, _options: SpanOptions = {}, ctx = context.active()): Span {
          const parent = trace.getSpanContext(ctx)
          const own: SpanContext = { traceId: parent?.traceId ?? 'b'.repeat(32), spanId: (next++).toString(16).padStart(16, '0'), traceFlags: sampled ? 1 : 0 }
          const entry: Recorded = { name: spanName, parent, calls: [] }
          spans.push(entry)
          let ended = false
          const span = trace.wrapSpanContext(own)
          return Object.assign(Object.create(span) as Span, {
            spanContext: () => own,
            isRecording: () => sampled && !ended,
            setStatus: () => { entry.calls.push('setStatus'); return span },
            recordException: () => { entry.calls.push('recordException') },
            end: () => { ended = true; entry.calls.push('end') }
          })
        },
        startActiveSpan: (() => { throw new Error('unused') }) as Tracer['startActiveSpan']
      }
    }
  }
  return { provider, spans, tracersMade }
}

test('without an SDK a span records nothing, and a parsed span context is a parent as its traceparent is', async (t) => {
  const parsed = parseTraceparent(PARENT) as SpanContext
  const child = startTraceSpan('test', 'child', { parent: parsed })
  t.equal(child.recording, false, 'nothing to record')
  t.equal(child.traceId, TRACE_ID, 'the trace goes on under the span context')
  t.match(child.traceparent, new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`))
  t.not(child.traceparent, PARENT, 'under a span id of its own')
  const invalid = startTraceSpan('test', 'root', { parent: { traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: 1 } })
  t.not(invalid.traceId, '0'.repeat(32), 'an invalid span context is no parent: a new trace')
  t.match(invalid.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)
})

test('with an SDK: recording follows the span, a sampled-out span gets no status, tracers are asked once per provider', async (t) => {
  t.teardown(() => { trace.disable() })
  const on = recordingProvider(true)
  t.ok(trace.setGlobalTracerProvider(on.provider))
  const task = startTraceSpan('@aip/test', 'aip.task', { parent: parseTraceparent(PARENT) })
  t.equal(task.recording, true, 'a sampled span records')
  t.equal(task.traceparent, `00-${TRACE_ID}-0000000000000001-01`, 'it names the next hop')
  t.match(on.spans[0], { name: 'aip.task', parent: { spanId: '00f067aa0ba902b7' } }, 'under the span context given as parent')
  task.end(new Error('boom'))
  t.equal(task.recording, false, 'an ended span records no more')
  t.same(on.spans[0]?.calls, ['recordException', 'setStatus', 'end'], 'the error is recorded, then the span ends')
  startTraceSpan('@aip/test', 'second').end()
  startTraceSpan('@aip/other', 'third').end()
  t.same(on.tracersMade, ['@aip/test', '@aip/other'], 'one tracer per name while the provider stays')

  trace.disable()
  const off = recordingProvider(false)
  t.ok(trace.setGlobalTracerProvider(off.provider))
  const dropped = startTraceSpan('@aip/test', 'aip.task', { parent: PARENT })
  t.same(off.tracersMade, ['@aip/test'], 'a provider registered later gives its own tracers')
  t.equal(dropped.recording, false, 'a sampled-out span does not record')
  t.equal(dropped.traceparent, `00-${TRACE_ID}-0000000000000001-00`, 'its ids still travel, marked not sampled')
  dropped.end('failed')
  dropped.end('again')
  t.same(off.spans[0]?.calls, ['end'], 'no status is set on a span that records nothing, and it ends once')
})
