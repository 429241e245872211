import {
  ROOT_CONTEXT, SpanStatusCode, context, trace, type Context, type ContextManager, type Span, type SpanContext, type SpanOptions, type Tracer, type TracerProvider
} from '@opentelemetry/api'
import { test } from 'tap'
import { SpanKind, activeTraceparent, formatTraceparent, parseTraceparent, startTraceSpan } from '../src/index.js'
import { randomHexId } from '../src/trace.js'

const PARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'

/** A context manager that tracks the active context synchronously (an SDK registers an AsyncLocalStorage one). */
function syncContextManager (): ContextManager {
  let current: Context = ROOT_CONTEXT
  return {
    active: () => current,
    with: (ctx, fn, thisArg, ...args) => {
      const previous = current
      current = ctx
      try { return fn.call(thisArg, ...args) } finally { current = previous }
    },
    bind: (_ctx, target) => target,
    enable () { return this },
    disable () { return this }
  }
}

test('traceparent: a W3C version-00 header is parsed and written back; anything else is not one', async (t) => {
  const parsed = parseTraceparent(PARENT)
  t.same(parsed, { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1, isRemote: true })
  t.equal(formatTraceparent(parsed as SpanContext), PARENT)
  t.same(parseTraceparent(` ${PARENT.toUpperCase()}\t`), parsed, 'surrounding white space and upper-case hex are accepted')
  t.equal(parseTraceparent(PARENT.replace(/-01$/, '-00'))?.traceFlags, 0, 'not sampled')
  t.equal(formatTraceparent({ ...(parsed as SpanContext), traceFlags: 0 }), PARENT.replace(/-01$/, '-00'))
  for (const bad of [undefined, 42, '', 'garbage', '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    '00-00000000000000000000000000000000-00f067aa0ba902b7-01', '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
    `${PARENT}-00`, PARENT.slice(0, -1), PARENT.replace('-00f0', '_00f0'), PARENT.replace('4bf9', '4bg9'), PARENT.replace('-01', '-0x'),
    `x${PARENT.slice(1)}`, ` ${PARENT.slice(1)}`]) {
    t.equal(parseTraceparent(bad), null, String(bad))
  }
})

test('without an OpenTelemetry SDK, a span keeps the parent trace id under a new span id, or starts a new trace', async (t) => {
  const child = startTraceSpan('test', 'child', { parent: PARENT, kind: SpanKind.SERVER })
  t.equal(child.traceId, '4bf92f3577b34da6a3ce929d0e0e4736', 'the trace goes on')
  t.match(child.traceparent, /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/)
  t.not(child.traceparent, PARENT, 'under a span id of its own')
  t.equal(child.span.isRecording(), false, 'nothing is recorded')
  child.end(new Error('boom'))
  child.end()
  const root = startTraceSpan('test', 'root', { parent: 'not a traceparent' })
  t.match(root.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/, 'a new trace')
  t.not(root.traceId, child.traceId)
  root.end()
})

test('with an SDK registered, spans are recorded under their remote parent, and errors set their status', async (t) => {
  const recorded: Array<{ name: string, kind: SpanKind | undefined, parent: SpanContext | undefined, status?: number, ended: boolean }> = []
  let next = 1
  const tracer: Tracer = {
    startSpan (name: string, options: SpanOptions = {}, ctx = context.active()): Span {
      const parent = trace.getSpanContext(ctx)
      const own: SpanContext = { traceId: parent?.traceId ?? 'a'.repeat(32), spanId: (next++).toString(16).padStart(16, '0'), traceFlags: 1 }
      const entry: { name: string, kind: SpanKind | undefined, parent: SpanContext | undefined, status?: number, ended: boolean } = { name, kind: options.kind, parent, ended: false }
      recorded.push(entry)
      const span = trace.wrapSpanContext(own)
      return Object.assign(Object.create(span) as Span, {
        spanContext: () => own,
        isRecording: () => true,
        setStatus: (status: { code: number }) => { entry.status = status.code; return span },
        recordException: () => {},
        end: () => { entry.ended = true }
      })
    },
    startActiveSpan: (() => { throw new Error('unused') }) as Tracer['startActiveSpan']
  }
  const provider: TracerProvider = { getTracer: () => tracer }
  t.ok(trace.setGlobalTracerProvider(provider))
  t.teardown(() => { trace.disable(); context.disable() })

  t.equal(activeTraceparent(), null, 'no active span')
  // A synchronous context manager, as an SDK would register (AsyncLocalStorage based) to track the active span.
  t.ok(context.setGlobalContextManager(syncContextManager()))
  const active = context.with(trace.setSpanContext(context.active(), parseTraceparent(PARENT) as SpanContext), () => activeTraceparent())
  t.equal(active, PARENT, 'the active span of the caller')
  const task = startTraceSpan('@aip/test', 'aip.task', { parent: PARENT, kind: SpanKind.SERVER, attributes: { 'aip.session_id': 's1' } })
  t.equal(task.traceparent, '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000001-01', 'the SDK span names the next hop')
  const command = startTraceSpan('@aip/test', 'aip.command', { parent: task.traceparent })
  t.equal(command.traceId, task.traceId)
  command.end('timed out')
  task.end()
  t.match(recorded, [
    { name: 'aip.task', kind: SpanKind.SERVER, parent: { spanId: '00f067aa0ba902b7', isRemote: true }, ended: true },
    { name: 'aip.command', kind: SpanKind.INTERNAL, parent: { spanId: '0000000000000001' }, status: SpanStatusCode.ERROR, ended: true }
  ])
})

test('ids come from a pooled random buffer: W3C hex of the right length, never all zero, no repeat over many refills', async (t) => {
  const spanIds = new Set<string>()
  const traceIds = new Set<string>()
  const bad: string[] = []
  // 4096 pooled bytes hold 512 span ids: 3000 of each size crosses many refills.
  for (let i = 0; i < 3000; i++) {
    const spanId = randomHexId(8)
    const traceId = randomHexId(16)
    if (!/^[0-9a-f]{16}$/.test(spanId) || /^0+$/.test(spanId)) bad.push(spanId)
    if (!/^[0-9a-f]{32}$/.test(traceId) || /^0+$/.test(traceId)) bad.push(traceId)
    spanIds.add(spanId)
    traceIds.add(traceId)
  }
  t.same(bad, [], 'every id is lower-case hex of its length, not all zero')
  t.equal(spanIds.size, 3000, 'every span id differs')
  t.equal(traceIds.size, 3000, 'every trace id differs')
})

test('spans started without an SDK carry valid W3C traceparents with fresh ids', async (t) => {
  const seen = new Set<string>()
  const bad: string[] = []
  for (let i = 0; i < 600; i++) {
    const root = startTraceSpan('aip-test', 'root')
    const child = startTraceSpan('aip-test', 'child', { parent: root.traceparent })
    if (parseTraceparent(root.traceparent) === null || parseTraceparent(child.traceparent) === null) bad.push(root.traceparent)
    if (child.traceId !== root.traceId || child.traceparent === root.traceparent) bad.push(child.traceparent)
    seen.add(root.traceparent)
    seen.add(child.traceparent)
    root.end()
    child.end()
  }
  t.same(bad, [], 'valid, the child under its parent trace with its own span id')
  t.equal(seen.size, 1200, 'no traceparent repeats')
})

test('without an SDK, the active span of a context manager is the parent, read as it was at the start; ids stay once drawn', async (t) => {
  t.ok(context.setGlobalContextManager(syncContextManager()))
  t.teardown(() => { context.disable() })
  const parent = parseTraceparent(PARENT) as SpanContext
  const child = context.with(trace.setSpanContext(ROOT_CONTEXT, parent), () => startTraceSpan('test', 'child', { parent: 'not a traceparent' }))
  // Read outside the context it started in.
  t.equal(child.traceId, parent.traceId, 'under the active span')
  t.match(child.traceparent, new RegExp(`^00-${parent.traceId}-[0-9a-f]{16}-01$`))
  t.not(child.traceparent.split('-')[2], parent.spanId, 'a span id of its own')
  t.equal(child.traceparent, child.traceparent, 'drawn once')
  t.same(child.span.spanContext(), parent, 'the non-recording span carries the parent, as the no-op tracer gives it')
  t.equal(child.span.isRecording(), false)
  const root = startTraceSpan('test', 'root')
  t.equal(root.span.spanContext().traceId, '0'.repeat(32), 'no parent: the invalid context, as the no-op tracer gives it')
  t.equal(root.traceparent.split('-')[1], root.traceId)
  t.not(root.traceId, parent.traceId)
})

test('an SDK whose spans carry no valid context of their own: the span still gets ids of its own under the parent', async (t) => {
  const tracer: Tracer = {
    startSpan: (_name: string, _options?: SpanOptions, ctx = context.active()): Span => trace.wrapSpanContext(trace.getSpanContext(ctx) ?? { traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: 0 }),
    startActiveSpan: (() => { throw new Error('unused') }) as Tracer['startActiveSpan']
  }
  t.ok(trace.setGlobalTracerProvider({ getTracer: () => tracer }))
  t.teardown(() => { trace.disable() })
  const child = startTraceSpan('test', 'child', { parent: PARENT })
  t.equal(child.traceId, '4bf92f3577b34da6a3ce929d0e0e4736')
  t.not(child.traceparent, PARENT, 'not the parent span id')
  const root = startTraceSpan('test', 'root')
  t.match(root.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/, 'a new trace')
  child.end()
  root.end()
})
