export {
  DeviceServerEndpoint, type DeviceServerEvents, type CancelReason, type DispatchOptions, type DispatchedTask,
  type DeviceServerStats, type ClientActivity, type DrainOptions, type DrainResult, type SessionInfo, type DispatchInfo
} from './server.js'
export { resolveOptions, type DeviceServerOptions, type ResolvedServerOptions, type ClientKeyOptions } from './options.js'
export { planAgent, type Agent, type AgentTask, type AgentContext, type AgentOutcome, type ExecuteOptions } from './agent.js'
export { authenticate, safeEqual, type AuthResult, type AuthOptions, type ClientKey, type Credential } from './auth.js'
export { InMemoryClientRegistry, type ClientRegistry, type ClientRecord } from './registry.js'
export { InMemorySessionStore, type SessionStore } from './sessions.js'
export type { Session, TaskStep } from './session.js'
export { InMemoryResultStore, type ResultStore, type TaskRecord, type InMemoryResultStoreOptions } from './results.js'
export { Texts, MAX_ECHO_CHARS, MAX_ID_CHARS } from './texts.js'
export {
  InvalidOptionError, SessionCancelledError, CommandTimeoutError, TaskFailedError, ServerStoppedError,
  ClientNotConnectedError, RequestTooLargeError, TooManyDispatchesError, ServerDrainingError
} from './errors.js'
