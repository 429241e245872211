export type { CloseInfo, Transport, TransportEvents } from './transport.js'
export { CloseCode } from './transport.js'
export { WebSocketTransport, connectWebSocket, truncateReason, type ConnectOptions } from './ws-transport.js'
export { createLinkedTransports } from './memory-transport.js'
export { silentLogger, childLogger, type Logger, type LogFn } from './logger.js'
export {
  TransportClosedError, connectError, redactUrl, ConnectErrorConstructor, type ConnectError
} from './errors.js'
