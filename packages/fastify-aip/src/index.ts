import type { AipDeviceServer } from './endpoint.js'
import { aipPlugin } from './plugin.js'

export { aipPlugin } from './plugin.js'
export { AipDeviceServer } from './endpoint.js'
export {
  AipSessions, type RunningSession, type ClusterRunningSession, type SessionView, type SessionChange, type Unsubscribe
} from './sessions.js'
export { AipTasks, MAX_CANCEL_REASON_CHARS, type TaskDispatchOptions, type StartedTask } from './tasks.js'
export {
  resolvePluginOptions, type AipOptions, type AipHook, type DeviceDisconnectedInfo, type ResolvedPluginOptions
} from './options.js'
export {
  type AuthFailureLimitOptions, type ResolvedAuthFailureLimit
} from './options.js'
export { type UpgradeMode } from './upgrade.js'
export { type AipMetricsOptions, type ResolvedMetricsOptions } from './metrics.js'
export {
  type AipDashboardOptions, type ResolvedDashboardOptions, type DashboardSnapshot, type DashboardDevice
} from './dashboard.js'
export {
  TASK_NAME_PATTERN, DispatchBody, DispatchReply, ClientDetails, ClientsReply, TaskResultParams, TaskResultQuery, TaskResultReply,
  HealthReply, LivenessReply, ErrorReply
} from './schemas.js'
export {
  InvalidOptionError, AlreadyRegisteredError, ClientNotConnectedError, TaskTimeoutError, TaskAbortedError,
  ServerClosingError, TaskNotFoundError, MissingApiKeyError, InvalidApiKeyError, InvalidTaskError, TooManyTasksError,
  SessionNotFoundError, TaskEndedError, TaskCancelledError, AuthRateLimitedError
} from './errors.js'
export { taskRoutes, CancelParams, CancelBody, CancelReply, type TaskRoutesOptions } from './task-routes.js'
export type { ClientRecord, TaskRecord, Agent, AgentTask, AgentContext, AgentOutcome, DeviceServerOptions } from '@aip/device-server'

/** The `fastify.aip` decorator's type. */
export type AipDecorator = AipDeviceServer

export default aipPlugin
