import { randomFillSync } from 'node:crypto'
import {
  INVALID_SPAN_CONTEXT, ProxyTracerProvider, SpanKind, SpanStatusCode, TraceFlags, context, isSpanContextValid, trace,
  type Attributes, type Context, type Span, type SpanContext
} from '@opentelemetry/api'

/**
 * W3C trace context across AIP: the constellation puts a `traceparent` in the TASK's `metadata`, the server
 * runs the task in a span under it and gives each COMMAND a `traceparent` of its own, and the device runs each
 * tool call in a span under that. Spans go through `@opentelemetry/api`: without an SDK they cost almost nothing
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
  /** The `traceparent` naming this span: what the next hop runs under. */
  readonly traceparent: string
  readonly traceId: string
  /** Ends the span; with an error, its status is ERROR. Ending twice does nothing. */
  end: (error?: unknown) => void
}

/** Options of {@link startTraceSpan}. */
export interface TraceSpanOptions {
  /** The parent, as a `traceparent`; without one (or with an invalid one), the active span, else a new trace. */
  parent?: string | null | undefined
  kind?: SpanKind
  attributes?: Attributes
}

/** The tracer provider the API hands out while no SDK registered one (its no-op delegate). */
const NO_SDK = new ProxyTracerProvider().getDelegate()

/**
 * True while no OpenTelemetry SDK is registered with this copy of the API: its tracers are then no-ops. Asked on
 * every span (an SDK may be registered at any time); a provider registered through another copy of the API counts
 * as an SDK.
 */
function sdkRegistered (): boolean {
  const provider = trace.getTracerProvider()
  return !(provider instanceof ProxyTracerProvider) || provider.getDelegate() !== NO_SDK
}

/**
 * A span while no SDK is registered: what the no-op tracer would give (a non-recording span carrying the parent's
 * context when it is valid), computed only when read. The parent is read from `parent` (a `traceparent`) or from
 * the context active at the start (contexts are immutable, so reading it later reads the same); the ids are drawn
 * on first use. A span whose ids nobody reads (a COMMAND's, when its task carried no trace context) costs one
 * object.
 */
class QuietSpan implements TraceSpan {
  readonly #parentText: string | null | undefined
  readonly #active: Context
  #parent: SpanContext | null | undefined = undefined
  #traceId: string | undefined = undefined
  #traceparent: string | undefined = undefined
  #span: Span | undefined = undefined

  constructor (parent: string | null | undefined, active: Context) {
    this.#parentText = parent
    this.#active = active
  }

  /** The parent: the remote one when `parent` is a valid `traceparent`, else the active span's, else `null`. */
  get #parentContext (): SpanContext | null {
    if (this.#parent === undefined) this.#parent = parseTraceparent(this.#parentText) ?? trace.getSpanContext(this.#active) ?? null
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

  /** A non-recording span records neither the error nor the end. */
  end (): void {}
}

/**
 * Starts a span named `name` with the tracer of `tracerName`. Without an OpenTelemetry SDK the tracer is a no-op:
 * the span then keeps the parent's trace id (or a new random one) with a new span id of our own, so the trace
 * context still moves on from hop to hop; nothing is built until its ids are read.
 */
export function startTraceSpan (tracerName: string, name: string, options: TraceSpanOptions = {}): TraceSpan {
  if (!sdkRegistered()) return new QuietSpan(options.parent, context.active())
  const remote = parseTraceparent(options.parent)
  const parentContext = remote === null ? context.active() : trace.setSpanContext(context.active(), remote)
  const parent = remote ?? trace.getSpanContext(parentContext) ?? null
  const span = trace.getTracer(tracerName).startSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes }, parentContext)
  let own = span.spanContext()
  if (!isSpanContextValid(own) || own.spanId === parent?.spanId) {
    own = {
      traceId: parent !== null && isSpanContextValid(parent) ? parent.traceId : randomHexId(16),
      spanId: randomHexId(8),
      traceFlags: parent?.traceFlags ?? TraceFlags.SAMPLED
    }
  }
  let ended = false
  return {
    span,
    traceparent: formatTraceparent(own),
    traceId: own.traceId,
    end (error?: unknown) {
      if (ended) return
      ended = true
      if (error !== undefined) {
        if (error instanceof Error) span.recordException(error)
        span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) })
      }
      span.end()
    }
  }
}
