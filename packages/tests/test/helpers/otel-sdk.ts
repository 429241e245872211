import { context, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import type { Test } from 'tap'

/**
 * Registers the OpenTelemetry SDK globally for the test `t`, as an application does: the AsyncLocalStorage context
 * manager and a provider handing every ended span at once to an in-memory exporter. Unregistered when `t` ends.
 */
export function registerSdk (t: Test): { provider: BasicTracerProvider, exporter: InMemorySpanExporter } {
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  t.ok(context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()), 'the context manager is registered')
  t.ok(trace.setGlobalTracerProvider(provider), 'the tracer provider is registered')
  t.teardown(async () => { await provider.shutdown(); trace.disable(); context.disable() })
  return { provider, exporter }
}
