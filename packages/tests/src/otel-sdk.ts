import { context, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'

interface Test {
  ok: (value: unknown, message?: string) => void
  teardown: (fn: () => unknown) => void
}

/**
 * Registers the OpenTelemetry SDK globally, as an application does (the AsyncLocalStorage context manager and a
 * provider exporting every ended span at once), for the test `t`; unregistered at its end. Returns the provider and
 * the exporter holding the ended spans.
 */
export function registerSdk (t: Test): { provider: BasicTracerProvider, exporter: InMemorySpanExporter } {
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  t.ok(context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()))
  t.ok(trace.setGlobalTracerProvider(provider))
  t.teardown(async () => { await provider.shutdown(); trace.disable(); context.disable() })
  return { provider, exporter }
}
