import { TraceFlags, trace } from '@opentelemetry/api'
import { test } from 'tap'
import { registerBenchTracing } from '../src/tracer.js'

// The tracing scenarios measure the real SDK: spans are recorded and exported when sampled, and a sampled-out root
// still gets valid ids (the trace context travels) while nothing is recorded.
test('the bench tracing records and exports every span, or with sampled: false records none but still draws ids', async (t) => {
  const on = registerBenchTracing()
  const tracer = trace.getTracer('bench-test')
  const recorded = tracer.startSpan('recorded')
  t.ok(recorded.isRecording(), 'a sampled span records')
  t.equal(recorded.spanContext().traceFlags & TraceFlags.SAMPLED, TraceFlags.SAMPLED)
  tracer.startActiveSpan('parent', (parent) => {
    const child = tracer.startSpan('child')
    t.equal(child.spanContext().traceId, parent.spanContext().traceId, 'the context manager carries the active span')
    child.end()
    parent.end()
  })
  recorded.end()
  await on.flush()
  t.equal(on.exported(), 3, 'the three ended spans reach the exporter')
  await on.close()

  const off = registerBenchTracing({ sampled: false })
  const dropped = trace.getTracer('bench-test').startSpan('dropped')
  t.notOk(dropped.isRecording(), 'a root span is sampled out')
  t.ok(trace.isSpanContextValid(dropped.spanContext()), 'it still has ids to pass on')
  t.equal(dropped.spanContext().traceFlags & TraceFlags.SAMPLED, 0, 'and says it is not sampled')
  dropped.end()
  await off.flush()
  t.equal(off.exported(), 0, 'nothing is exported')
  await off.close()
})
