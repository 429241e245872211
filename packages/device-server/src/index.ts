export {
  DeviceServerEndpoint, type DeviceServerEvents, type CancelReason, type DispatchOptions, type DispatchedTask,
  type DeviceServerStats, type ClientActivity, type DrainOptions, type DrainResult, type SessionInfo, type DispatchInfo
} from './server.js'
export type { DeviceServerOptions, ResolvedServerOptions, ClientKeyOptions, PresenceScope } from './options.js'
export { planAgent, type Agent, type AgentTask, type AgentContext, type AgentOutcome, type ExecuteOptions } from './agent.js'
export type { AuthResult, AuthOptions, ClientKey, Credential } from './auth.js'
export { InMemoryClientRegistry, type ClientRegistry, type ClientRecord } from './registry.js'
export { InMemorySessionStore, type SessionStore } from './sessions.js'
export type { Session, TaskStep } from './session.js'
export { InMemoryResultStore, type ResultStore, type TaskRecord, type InMemoryResultStoreOptions } from './results.js'
export {
  InvalidOptionError, SessionCancelledError, CommandTimeoutError, TaskFailedError, ServerStoppedError,
  ClientNotConnectedError, RequestTooLargeError, TooManyDispatchesError, ServerDrainingError, ClusterUnavailableError
} from './errors.js'
export type {
  ClusterLink, ClusterHandlers, ClusterState, ClusterProblem, ClusterClient, ClusterClientRecord, ClaimMode, ClaimOutcome, ClusterMessage,
  ClusterTaskMessage, ClusterCancelMessage, ClusterFrameMessage, NodeMessage, ProbeMessage, ProbeAnswerMessage,
  FencedNoticeMessage, ClientLossReason, ClusterSessionInfo, SessionsRequestMessage, SessionsAnswerMessage, ClusterDispatchMessage,
  ClusterDispatchCancelMessage, DispatchNoticeMessage, DispatchErrorInfo, PresenceInterestMessage, PresenceEventMessage,
  HolderSendOutcome
} from './cluster/link.js'
export { InMemoryClusterHub, InMemoryClusterLink, type InMemoryClusterHubOptions } from './cluster/memory.js'
