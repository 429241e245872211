/**
 * One log method in the pino style: the context object first, then the message.
 */
export type LogFn = (obj: object, msg?: string) => void

/**
 * The logging surface this package uses. A pino (or Fastify) logger fits as is.
 */
export interface Logger {
  debug: LogFn
  info: LogFn
  warn: LogFn
  error: LogFn
}

const noop: LogFn = () => {}

/**
 * A logger that drops everything: the default of every class in this package.
 */
export const silentLogger: Logger = Object.freeze({ debug: noop, info: noop, warn: noop, error: noop })
