export type { CloseInfo, Transport, TransportEvents, TransportReceiver } from './transport.js'
export { CloseCode, bindReceiver, receiveClose, receiveError, receiveFrame } from './transport.js'
export { WebSocketTransport, connectWebSocket, type ConnectOptions } from './ws-transport.js'
export { createLinkedTransports } from './memory-transport.js'
export { silentLogger, type Logger, type LogFn } from './logger.js'
/** @deprecated internal: import it from `@aip/endpoint/internal`. Kept here until the sibling packages move. */
export { childLogger } from './logger.js'
export {
  TransportClosedError, connectError, redactUrl, type ConnectError,
  InvalidOptionError, InvalidArgumentError, NotConnectedError, UnexpectedBinaryError,
  TransferChecksumError, TransferSizeError, TransferOrderError, TransferTooLargeError, TransferLimitError,
  TransferAbortedError, RegistrationRefusedError, RegistrationTimeoutError, RequestRefusedError, InvalidStateTransitionError
} from './errors.js'
/** @deprecated internal: import it from `@aip/endpoint/internal`. Kept here until the sibling packages move. */
export { ConnectErrorConstructor } from './errors.js'
export {
  AIPProtocol, extraFieldsOf,
  type ProtocolRole, type OutgoingMessage, type IncomingMessage, type IncomingType, type AnyMessage,
  type ProtocolMiddleware, type MessageHandler, type ProtocolOptions, type ResolvedProtocolOptions,
  type ProtocolErrorContext, type ProtocolEvents, type ReceiveOptions, type ReceiveTransferOptions,
  type BinaryMetadataInput, type FileSource, type SendFileOptions, type SentFile, type SendOptions
} from './protocol/index.js'
export type { ReceivedBinary, ReceivedFile, TransferErrorEvent, CodedError } from './protocol/transfer-receive.js'
export {
  classifyFailure, FailureJudge, IDENTITY_CONFLICT_GRACE_MS, type AttemptFacts, type FailureFacts, type FailureReason, type FailureVerdict
} from './failure.js'
export {
  CLIENT_LIFECYCLE, ConnectionLifecycle, nextConnectionState, type ConnectionState, type ConnectionStateKind, type ConnectionEvent,
  type ConnectionStateChange, type DisconnectCause, type StopReason
} from './lifecycle.js'
export {
  register, validateRegistration, type RegisterOptions, type RegistrationClaim, type RegistrationCheck,
  type RegistrationShapeRefusal
} from './flows/registration.js'
export { startHeartbeat, type HeartbeatOptions, type HeartbeatHandle } from './flows/heartbeat.js'
export {
  runTask, answerCommands, type RunTaskOptions, type CommandExecutor, type AnswerCommandsOptions
} from './flows/task-execution.js'
export { requestDeviceInfo, type DeviceInfoRequestOptions } from './flows/device-info.js'
export { AIPEndpoint, type EndpointOptions, type ResolvedEndpointOptions, type EndpointEvents } from './endpoint.js'
export {
  DEFAULT_LIFECYCLE, SERVER_LIFECYCLE, LifecycleState, type EndpointState, type ServerState, type LifecycleTable, type StateChange
} from './lifecycle-state.js'
export { Liveness, type LivenessOptions } from './liveness.js'
export { ServerList, MAX_SERVER_URLS, type ServerEntry } from './server-list.js'
export {
  attachExtension, type Extension, type ExtensionContext, type ExtensionErrorContext, type AttachOptions
} from './extensions/extension.js'
export { loggingExtension, type LoggingExtensionOptions } from './extensions/logging.js'
export { metricsExtension, type MetricsExtension, type MetricsSnapshot, type DirectionMetrics } from './extensions/metrics.js'
export {
  TRACEPARENT, SpanKind, parseTraceparent, formatTraceparent, activeTraceparent, startTraceSpan, type TraceSpan, type TraceSpanOptions
} from './trace.js'
