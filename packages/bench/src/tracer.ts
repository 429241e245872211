import { AsyncLocalStorage } from 'node:async_hooks'
import {
  ROOT_CONTEXT, SpanKind, TraceFlags, context, trace, type AttributeValue, type Attributes, type Context, type ContextManager,
  type Exception, type Link, type Span, type SpanContext, type SpanOptions, type SpanStatus, type TimeInput, type Tracer,
  type TracerProvider
} from '@opentelemetry/api'

// What an OpenTelemetry SDK costs the server, without depending on one: a tracer provider that does the work an
// SDK's does for every span (ids, a recording span with attributes, events and status, start and end times, a
// batch processor handing finished spans to an exporter), and the AsyncLocalStorage context manager an SDK
// registers in Node. The exporter turns each batch into plain objects, as an OTLP exporter would before
// serialising, then drops them.

const BATCH_SIZE = 512

function hex (length: number): string {
  let out = ''
  for (let i = 0; i < length; i++) out += Math.floor(Math.random() * 16).toString(16)
  return out
}

function epochNanos (time?: TimeInput): number {
  if (typeof time === 'number') return Math.round(time * 1e6)
  if (time instanceof Date) return time.getTime() * 1e6
  return Math.round((performance.timeOrigin + performance.now()) * 1e6)
}

/** Finished spans, batched and handed to an exporter that keeps nothing. */
class BatchProcessor {
  #batch: RecordingSpan[] = []
  exported = 0

  onEnd (span: RecordingSpan): void {
    this.#batch.push(span)
    if (this.#batch.length >= BATCH_SIZE) this.flush()
  }

  flush (): void {
    const batch = this.#batch
    this.#batch = []
    const plain = batch.map((span) => ({
      traceId: span.context.traceId,
      spanId: span.context.spanId,
      parentSpanId: span.parentSpanId,
      name: span.name,
      kind: span.kind,
      startTimeUnixNano: span.start,
      endTimeUnixNano: span.end_,
      attributes: Object.entries(span.attributes).map(([key, value]) => ({ key, value })),
      events: span.events,
      status: span.status
    }))
    this.exported += plain.length
  }
}

class RecordingSpan implements Span {
  readonly context: SpanContext
  readonly parentSpanId: string | undefined
  readonly kind: SpanKind
  readonly start: number
  readonly attributes: Attributes = {}
  readonly events: Array<{ name: string, time: number, attributes?: Attributes }> = []
  name: string
  status: SpanStatus = { code: 0 }
  end_ = 0
  readonly #processor: BatchProcessor

  constructor (processor: BatchProcessor, name: string, options: SpanOptions, parent: SpanContext | undefined) {
    this.#processor = processor
    this.name = name
    this.kind = options.kind ?? SpanKind.INTERNAL
    this.parentSpanId = parent?.spanId
    this.context = { traceId: parent?.traceId ?? hex(32), spanId: hex(16), traceFlags: TraceFlags.SAMPLED }
    this.start = epochNanos(options.startTime)
    if (options.attributes !== undefined) this.setAttributes(options.attributes)
  }

  spanContext (): SpanContext { return this.context }
  setAttribute (key: string, value: AttributeValue): this {
    if (this.end_ === 0) this.attributes[key] = value
    return this
  }

  setAttributes (attributes: Attributes): this {
    for (const [key, value] of Object.entries(attributes)) if (value !== undefined) this.setAttribute(key, value)
    return this
  }

  addEvent (name: string, attributesOrTime?: Attributes | TimeInput, time?: TimeInput): this {
    const attributes = typeof attributesOrTime === 'object' && !(attributesOrTime instanceof Date) && !Array.isArray(attributesOrTime) ? attributesOrTime : undefined
    this.events.push({ name, time: epochNanos(attributes === undefined ? attributesOrTime as TimeInput : time), attributes })
    return this
  }

  addLink (_link: Link): this { return this }
  addLinks (_links: Link[]): this { return this }
  setStatus (status: SpanStatus): this {
    this.status = status
    return this
  }

  updateName (name: string): this {
    this.name = name
    return this
  }

  end (endTime?: TimeInput): void {
    if (this.end_ !== 0) return
    this.end_ = epochNanos(endTime)
    this.#processor.onEnd(this)
  }

  isRecording (): boolean { return this.end_ === 0 }
  recordException (exception: Exception, time?: TimeInput): void {
    const message = typeof exception === 'string' ? exception : exception.message
    this.addEvent('exception', { 'exception.message': message ?? '' }, time)
  }
}

class BenchTracer implements Tracer {
  readonly #processor: BatchProcessor
  readonly #sampled: boolean
  constructor (processor: BatchProcessor, sampled: boolean) {
    this.#processor = processor
    this.#sampled = sampled
  }

  startSpan (name: string, options: SpanOptions = {}, ctx: Context = context.active()): Span {
    const parent = options.root === true ? undefined : trace.getSpanContext(ctx)
    if (this.#sampled) return new RecordingSpan(this.#processor, name, options, parent)
    // A span the sampler drops: as an SDK does, new ids under the parent's trace, not sampled, nothing recorded.
    return trace.wrapSpanContext({ traceId: parent?.traceId ?? hex(32), spanId: hex(16), traceFlags: TraceFlags.NONE })
  }

  startActiveSpan<F extends (span: Span) => unknown>(name: string, ...args: unknown[]): ReturnType<F> {
    const fn = args[args.length - 1] as F
    const options = (args.length > 1 ? args[0] : {}) as SpanOptions
    const ctx = (args.length > 2 ? args[1] : context.active()) as Context
    const span = this.startSpan(name, options, ctx)
    return context.with(trace.setSpan(ctx, span), () => fn(span)) as ReturnType<F>
  }
}

/** The AsyncLocalStorage context manager, as an SDK registers it in Node. */
class AsyncLocalContextManager implements ContextManager {
  readonly #storage = new AsyncLocalStorage<Context>()
  active (): Context { return this.#storage.getStore() ?? ROOT_CONTEXT }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return this.#storage.run(ctx, () => fn.call(thisArg, ...args))
  }

  bind<T>(ctx: Context, target: T): T {
    if (typeof target !== 'function') return target
    const manager = this
    return function (this: unknown, ...args: unknown[]) { return manager.with(ctx, () => (target as (...a: unknown[]) => unknown).apply(this, args)) } as T
  }

  enable (): this { return this }
  disable (): this {
    this.#storage.disable()
    return this
  }
}

/**
 * Registers the SDK-like tracer provider and context manager globally (what `NodeTracerProvider.register()` does);
 * returns how many spans were exported so far, to check that spans were recorded. With `sampled: false`, its
 * sampler drops every span (what most production tracing does with most spans: a ratio sampler).
 */
export function registerBenchTracing (options: { sampled?: boolean } = {}): { exported: () => number } {
  const processor = new BatchProcessor()
  const tracer = new BenchTracer(processor, options.sampled ?? true)
  const provider: TracerProvider = { getTracer: () => tracer }
  context.setGlobalContextManager(new AsyncLocalContextManager())
  trace.setGlobalTracerProvider(provider)
  return { exported: () => processor.exported }
}
