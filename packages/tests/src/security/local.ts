import type { Logger } from '@aip/endpoint'
import { AipServer, testAgent, type AipServerOptions } from '../server.js'
import type { Target } from './target.js'

/** One log line a {@link LogCapture} kept. */
export interface LogLine { level: string, obj: Record<string, unknown>, msg: string }

/** A logger that keeps every line, to check what a server logs (and how much). */
export class LogCapture implements Logger {
  readonly lines: LogLine[] = []
  debug = (obj: unknown, msg?: string): void => { this.#keep('debug', obj, msg) }
  info = (obj: unknown, msg?: string): void => { this.#keep('info', obj, msg) }
  warn = (obj: unknown, msg?: string): void => { this.#keep('warn', obj, msg) }
  error = (obj: unknown, msg?: string): void => { this.#keep('error', obj, msg) }

  #keep (level: string, obj: unknown, msg: string | undefined): void {
    if (typeof obj === 'string') this.lines.push({ level, obj: {}, msg: obj })
    else this.lines.push({ level, obj: (obj ?? {}) as Record<string, unknown>, msg: msg ?? '' })
  }

  /** Lines whose message contains `text`. */
  matching (text: string): LogLine[] {
    return this.lines.filter((line) => line.msg.includes(text))
  }

  /** The longest line, as JSON. */
  longest (): number {
    let max = 0
    for (const line of this.lines) {
      let size = line.msg.length
      try { size += JSON.stringify(line.obj).length } catch {}
      max = Math.max(max, size)
    }
    return max
  }
}

/** The credentials of a local server started by {@link startLocalTarget}. */
export const LOCAL_TOKEN = 'sec-token'
export const LOCAL_API_KEY = 'sec-api-key'

/**
 * A fastify-aip server on 127.0.0.1 (port 0) with a token and an API key, and the {@link Target} describing it.
 * `options` override the defaults (small limits keep the attacks quick).
 */
export async function startLocalTarget (options: AipServerOptions = {}): Promise<{ server: AipServer, target: Target, logs: LogCapture }> {
  const logs = new LogCapture()
  const server = await AipServer.start({ agent: testAgent, token: LOCAL_TOKEN, apiKey: LOCAL_API_KEY, pingIntervalMs: 0, logger: logs, ...options })
  const target: Target = {
    wsUrl: `ws://127.0.0.1:${server.port}/ws`,
    httpUrl: `http://127.0.0.1:${server.port}`,
    token: typeof options.token === 'string' ? options.token : options.token === null ? null : LOCAL_TOKEN,
    apiKey: options.apiKey ?? LOCAL_API_KEY,
    prefix: '/api',
    clientKeys: Object.fromEntries(Object.entries(options.clientKeys ?? {}).map(([id, entry]) => [id, typeof entry === 'string' ? entry : entry.key]))
  }
  return { server, target, logs }
}
