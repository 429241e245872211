import type { Logger } from '@aip/resilience'

export { silentLogger, type Logger, type LogFn } from '@aip/resilience'

/** `logger.child(bindings)` when the logger has it (pino, Fastify), the logger itself otherwise. */
export function childLogger (logger: Logger, bindings: Record<string, unknown>): Logger {
  const child = (logger as Logger & { child?: (bindings: Record<string, unknown>) => Logger }).child
  return typeof child === 'function' ? child.call(logger, bindings) : logger
}
