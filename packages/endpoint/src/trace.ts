import { randomFillSync } from 'node:crypto'
import {
  INVALID_SPAN_CONTEXT, ProxyTracerProvider, SpanKind, SpanStatusCode, TraceFlags, context, isSpanContextValid, trace,
  type Attributes, type Context, type Span, type SpanContext, type SpanOptions, type Tracer, type TracerProvider
} from '@opentelemetry/api'

/**
 * W3C trace context across AIP: the constellation puts a `traceparent` in the TASK's `metadata`, the server
 * runs the task in a span under it and gives each COMMAND the `traceparent` of that task span (a COMMAND has no
 * span of its own), and the device runs each tool call in a span under that. Spans go through `@opentelemetry/api`: without an SDK they cost almost nothing
 * and record nothing, but the ids still travel, so that every log line of a task carries one trace id.
 */

export { SpanKind }

/** The metadata key (TASK) and the extension field (COMMAND) that carry the trace context. */
export const TRACEPARENT = 'traceparent'

/** Random bytes drawn from the system at a time and handed out in slices (one draw per 4096 bytes, not per id). */
const POOL_BYTES = 4096
const pool = Buffer.allocUnsafe(POOL_BYTES)
let poolOffset = POOL_BYTES

/**
 * `bytes` random bytes as lower-case hex, taken from a pool of random bytes refilled with `crypto.randomFillSync`
 * when used up (each byte is handed out once). W3C forbids an all-zero trace or span id: that one draw in 2^64
 * (span id) ends in `1` instead.
 */
export function randomHexId (bytes: number): string {
  if (poolOffset + bytes > POOL_BYTES) {
    randomFillSync(pool)
    poolOffset = 0
  }
  const start = poolOffset
  poolOffset += bytes
  const id = pool.toString('hex', start, poolOffset)
  for (let i = start; i < poolOffset; i++) if (pool[i] !== 0) return id
  return `${id.slice(0, -1)}1`
}

/** The length of a version-00 `traceparent`: `00-` + 32 hex + `-` + 16 hex + `-` + 2 hex. */
const TRACEPARENT_LENGTH = 55

/**
 * Whether `text` is a version-00 `traceparent` in lower case with a trace id and a span id that are not all zero:
 * one pass over its characters (this runs for every TASK and COMMAND that carries one).
 */
function isCanonicalTraceparent (text: string): boolean {
  if (text.length !== TRACEPARENT_LENGTH || text.charCodeAt(0) !== 48 || text.charCodeAt(1) !== 48) return false
  let traceBits = 0
  let spanBits = 0
  for (let i = 2; i < TRACEPARENT_LENGTH; i++) {
    const code = text.charCodeAt(i)
    if (i === 2 || i === 35 || i === 52) {
      if (code !== 45) return false
      continue
    }
    const digit = code >= 48 && code <= 57 ? code - 48 : code >= 97 && code <= 102 ? code - 87 : -1
    if (digit === -1) return false
    if (i < 35) traceBits |= digit
    else if (i < 52) spanBits |= digit
  }
  return traceBits !== 0 && spanBits !== 0
}

/**
 * The span context of a W3C `traceparent` (version 00), or `null` when it is not one (an all-zero trace or span
 * id is not one either). Surrounding white space and upper-case hex are accepted.
 */
export function parseTraceparent (value: unknown): SpanContext | null {
  if (typeof value !== 'string') return null
  let text = value
  if (!isCanonicalTraceparent(text)) {
    text = value.trim().toLowerCase()
    if (text === value || !isCanonicalTraceparent(text)) return null
  }
  return {
    traceId: text.slice(3, 35),
    spanId: text.slice(36, 52),
    traceFlags: Number.parseInt(text.slice(53, 55), 16) & TraceFlags.SAMPLED,
    isRemote: true
  }
}

/** The W3C `traceparent` of a span context. */
export function formatTraceparent (spanContext: SpanContext): string {
  return `00-${spanContext.traceId}-${spanContext.spanId}-${(spanContext.traceFlags & TraceFlags.SAMPLED) === 1 ? '01' : '00'}`
}

/** The `traceparent` of the caller's active span (an OpenTelemetry SDK is running), else `null`. */
export function activeTraceparent (): string | null {
  const active = trace.getSpanContext(context.active())
  return active !== undefined && isSpanContextValid(active) ? formatTraceparent(active) : null
}

/** A span of an AIP step, with the trace context to pass on. */
export interface TraceSpan {
  /** The OpenTelemetry span (non-recording without an SDK). */
  readonly span: Span
  /** The `traceparent` naming this span: what the next hop runs under (written when first read). */
  readonly traceparent: string
  readonly traceId: string
  /**
   * Whether the span records (an SDK is registered, its sampler kept the span, and it has not ended): only then is
   * anything worth computing for it, such as an event's attributes. Without an SDK it is `false` and costs nothing.
   */
  readonly recording: boolean
  /** Ends the span; with an error, its status is ERROR. Ending twice does nothing. */
  end: (error?: unknown) => void
}

/** Options of {@link startTraceSpan}. */
export interface TraceSpanOptions {
  /**
   * The parent: a `traceparent`, or a span context (one {@link parseTraceparent} gave, so that a caller who checked
   * the header does not parse it twice). Without one (or with an invalid one), the active span, else a new trace.
   */
  parent?: string | SpanContext | null | undefined
  kind?: SpanKind
  /**
   * Set on the span once it is known to record (an SDK is registered and its sampler kept the span): a span sampled
   * out, or one without an SDK, never builds them. The sampler does not see them.
   */
  attributes?: Attributes | (() => Attributes)
}

/** The parent a `parent` option names: a valid span context, or `null`. */
function parentOf (parent: string | SpanContext | null | undefined): SpanContext | null {
  if (typeof parent === 'string') return parseTraceparent(parent)
  return parent != null && isSpanContextValid(parent) ? parent : null
}

/** The global proxy provider's no-op delegate: what the API hands out while no SDK registered one. */
const NO_SDK = new ProxyTracerProvider().getDelegate()

/** The tracers of the SDK provider registered last, by name (an SDK's `getTracer` builds a key and looks it up). */
const tracers = new Map<string, Tracer>()
let tracersOf: TracerProvider | null = null

/**
 * The tracer named `name` of the registered OpenTelemetry SDK, or `null` while none is registered with this copy of
 * the API (its tracers are then no-ops). Asked on every span (an SDK may be registered at any time); a provider
 * registered through another copy of the API counts as an SDK, and its tracers are not kept (it may change its
 * delegate behind our back).
 */
function sdkTracer (name: string): Tracer | null {
  const provider = trace.getTracerProvider()
  if (!(provider instanceof ProxyTracerProvider)) return provider.getTracer(name)
  const delegate = provider.getDelegate()
  if (delegate === NO_SDK) return null
  if (delegate !== tracersOf) {
    tracers.clear()
    tracersOf = delegate
  }
  let tracer = tracers.get(name)
  if (tracer === undefined) {
    tracer = delegate.getTracer(name)
    tracers.set(name, tracer)
  }
  return tracer
}

/**
 * A span while no SDK is registered: what the no-op tracer would give (a non-recording span carrying the parent's
 * context when it is valid), computed only when read. The parent is read from `parent` or from the context active
 * at the start (contexts are immutable, so reading it later reads the same); the ids are drawn on first use. A
 * span whose ids nobody reads costs one object.
 */
class QuietSpan implements TraceSpan {
  readonly #parentOption: string | SpanContext | null | undefined
  readonly #active: Context
  #parent: SpanContext | null | undefined = undefined
  #traceId: string | undefined = undefined
  #traceparent: string | undefined = undefined
  #span: Span | undefined = undefined

  constructor (parent: string | SpanContext | null | undefined, active: Context) {
    this.#parentOption = parent
    this.#active = active
  }

  /** The parent: the remote one when `parent` names a valid one, else the active span's, else `null`. */
  get #parentContext (): SpanContext | null {
    if (this.#parent === undefined) this.#parent = parentOf(this.#parentOption) ?? trace.getSpanContext(this.#active) ?? null
    return this.#parent
  }

  get span (): Span {
    if (this.#span === undefined) {
      const parent = this.#parentContext
      this.#span = trace.wrapSpanContext(parent !== null && isSpanContextValid(parent) ? parent : INVALID_SPAN_CONTEXT)
    }
    return this.#span
  }

  get traceId (): string {
    if (this.#traceId === undefined) {
      const parent = this.#parentContext
      this.#traceId = parent !== null && isSpanContextValid(parent) ? parent.traceId : randomHexId(16)
    }
    return this.#traceId
  }

  get traceparent (): string {
    if (this.#traceparent === undefined) {
      const traceFlags = this.#parentContext?.traceFlags ?? TraceFlags.SAMPLED
      this.#traceparent = formatTraceparent({ traceId: this.traceId, spanId: randomHexId(8), traceFlags })
    }
    return this.#traceparent
  }

  get recording (): boolean { return false }

  /** A non-recording span records neither the error nor the end. */
  end (): void {}
}

/** A span of the registered SDK (recording, or sampled out), with the context it passes on. */
class SdkSpan implements TraceSpan {
  readonly span: Span
  readonly #own: SpanContext
  #traceparent: string | undefined = undefined
  #ended = false

  constructor (span: Span, own: SpanContext) {
    this.span = span
    this.#own = own
  }

  get traceId (): string { return this.#own.traceId }

  get traceparent (): string {
    this.#traceparent ??= formatTraceparent(this.#own)
    return this.#traceparent
  }

  get recording (): boolean { return this.span.isRecording() }

  end (error?: unknown): void {
    if (this.#ended) return
    this.#ended = true
    if (error !== undefined && this.span.isRecording()) {
      if (error instanceof Error) this.span.recordException(error)
      this.span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) })
    }
    this.span.end()
  }
}

/** The options an SDK's `startSpan` is given, one per kind (the SDK reads them and keeps none). */
const SPAN_OPTIONS: Array<Readonly<SpanOptions>> = []
for (const kind of [SpanKind.INTERNAL, SpanKind.SERVER, SpanKind.CLIENT, SpanKind.PRODUCER, SpanKind.CONSUMER]) SPAN_OPTIONS[kind] = Object.freeze({ kind })

/**
 * Starts a span named `name` with the tracer of `tracerName`. Without an OpenTelemetry SDK the tracer is a no-op:
 * the span then keeps the parent's trace id (or a new random one) with a new span id of our own, so the trace
 * context still moves on from hop to hop; nothing is built until its ids are read.
 */
export function startTraceSpan (tracerName: string, name: string, options: TraceSpanOptions = {}): TraceSpan {
  const tracer = sdkTracer(tracerName)
  if (tracer === null) return new QuietSpan(options.parent, context.active())
  const remote = parentOf(options.parent)
  const active = context.active()
  const parentContext = remote === null ? active : trace.setSpanContext(active, remote)
  const span = tracer.startSpan(name, SPAN_OPTIONS[options.kind ?? SpanKind.INTERNAL] ?? { kind: options.kind }, parentContext)
  // A span that records has ids the SDK drew for it: they are taken as they are (checking 48 hex digits again
  // costs more than the rest of this function).
  if (span.isRecording()) {
    const attributes = options.attributes
    if (attributes !== undefined) span.setAttributes(typeof attributes === 'function' ? attributes() : attributes)
    return new SdkSpan(span, span.spanContext())
  }
  let own = span.spanContext()
  const parent = remote ?? trace.getSpanContext(parentContext) ?? null
  // An SDK may hand back a span that records nothing with no valid context of its own, or with its parent's: ids
  // of our own under the parent.
  if (!isSpanContextValid(own) || own.spanId === parent?.spanId) {
    own = {
      traceId: parent !== null && isSpanContextValid(parent) ? parent.traceId : randomHexId(16),
      spanId: randomHexId(8),
      traceFlags: parent?.traceFlags ?? TraceFlags.SAMPLED
    }
  }
  return new SdkSpan(span, own)
}
