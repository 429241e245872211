import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { context, trace } from '@opentelemetry/api'
import {
  AlwaysOffSampler, AlwaysOnSampler, BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, type ReadableSpan, type SpanExporter
} from '@opentelemetry/sdk-trace-base'

// What an OpenTelemetry SDK costs the server: the real SDK (`@opentelemetry/sdk-trace-base`'s BasicTracerProvider,
// its random id generator, recording spans and a BatchSpanProcessor with its default queue and batch sizes) and the
// AsyncLocalStorage context manager, registered globally as `@opentelemetry/sdk-trace-node`'s `register()` does.
// The exporter is the only stand-in: it counts the spans it is given and drops them, so that no network or
// serialisation cost of a particular backend enters the figure.

/** An exporter that keeps nothing: counts each batch's spans and reports success. */
class DroppingExporter implements SpanExporter {
  exported = 0

  export (spans: ReadableSpan[], resultCallback: Parameters<SpanExporter['export']>[1]): void {
    this.exported += spans.length
    resultCallback({ code: 0 })
  }

  async shutdown (): Promise<void> {}
  async forceFlush (): Promise<void> {}
}

/** The registered SDK: how many spans it exported so far, a flush of what is batched, and its removal. */
export interface BenchTracing {
  /** Spans handed to the exporter so far (recorded and ended, then batched). */
  exported: () => number
  /** Exports what the batch processor holds. */
  flush: () => Promise<void>
  /** Shuts the provider down and unregisters it and the context manager. */
  close: () => Promise<void>
}

/**
 * Registers the OpenTelemetry SDK's tracer provider and the AsyncLocalStorage context manager globally (what
 * `NodeTracerProvider.register()` does). With `sampled: false`, its sampler is `ParentBased(AlwaysOff)`: a span with
 * no sampled parent (every task of the benchmark, whose TASKs carry no `traceparent`) is dropped, what most
 * production tracing does with most spans (a ratio sampler); ids are still drawn and the trace context still
 * travels.
 */
export function registerBenchTracing (options: { sampled?: boolean } = {}): BenchTracing {
  const exporter = new DroppingExporter()
  const provider = new BasicTracerProvider({
    sampler: new ParentBasedSampler({ root: (options.sampled ?? true) ? new AlwaysOnSampler() : new AlwaysOffSampler() }),
    spanProcessors: [new BatchSpanProcessor(exporter)]
  })
  const contextManager = new AsyncLocalStorageContextManager().enable()
  context.setGlobalContextManager(contextManager)
  trace.setGlobalTracerProvider(provider)
  return {
    exported: () => exporter.exported,
    flush: async () => { await provider.forceFlush() },
    close: async () => {
      await provider.shutdown()
      trace.disable()
      context.disable()
    }
  }
}
