import type { Logger } from '@aip/resilience'
import type { AnyMessage } from '../protocol/index.js'
import type { Extension } from './extension.js'

/** Options of {@link loggingExtension}. */
export interface LoggingExtensionOptions {
  /** Level of the per-message lines. Default `'debug'`. */
  level?: 'debug' | 'info'
}

function describe (message: AnyMessage): Record<string, unknown> {
  // Only identifiers: never metadata, requests or results (they may hold credentials or user data).
  return {
    type: message.type,
    status: message.status,
    sessionId: message.session_id ?? null,
    ...('client_id' in message ? { clientId: message.client_id ?? null } : {})
  }
}

/**
 * Logs each message sent and received (type, status, session id, client id, size; never the payload), connects
 * and closes at `info`, and errors at `warn`, through a pino-compatible logger, object first.
 */
export function loggingExtension (logger: Logger, options: LoggingExtensionOptions = {}): Extension {
  const level = options.level ?? 'debug'
  return {
    name: 'logging',
    onSend (message, { bytes }, { endpointId }) {
      logger[level]({ direction: 'out', ...describe(message), bytes, endpointId }, 'aip message sent')
    },
    onReceive (message, { bytes }, { endpointId }) {
      logger[level]({ direction: 'in', ...describe(message), bytes, endpointId }, 'aip message received')
    },
    onConnect ({ endpointId }) {
      logger.info({ endpointId }, 'aip connection established')
    },
    onClose (info, { endpointId }) {
      logger.info({ endpointId, code: info.code, reason: info.reason, local: info.local }, 'aip connection closed')
    },
    onError (err, where, { endpointId }) {
      logger.warn({ err, where, endpointId }, 'aip connection error')
    }
  }
}
