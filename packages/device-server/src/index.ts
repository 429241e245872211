export {
  DeviceServerEndpoint, type DeviceServerEvents, type CancelReason, type DispatchOptions, type DispatchedTask,
  type DeviceServerStats, type ClientActivity, type DrainOptions, type DrainResult
} from './server.js'
export { resolveOptions, type DeviceServerOptions, type ResolvedServerOptions } from './options.js'
export { planAgent, type Agent, type AgentTask, type AgentContext, type AgentOutcome, type ExecuteOptions } from './agent.js'
export { authenticate, safeEqual, type AuthResult, type AuthOptions } from './auth.js'
export { InMemoryClientRegistry, type ClientRegistry, type ClientRecord } from './registry.js'
export { InMemoryResultStore, type ResultStore, type TaskRecord, type InMemoryResultStoreOptions } from './results.js'
export { Texts } from './texts.js'
export {
  InvalidOptionError, SessionCancelledError, CommandTimeoutError, TaskFailedError, ServerStoppedError,
  ClientNotConnectedError, ServerDrainingError
} from './errors.js'
