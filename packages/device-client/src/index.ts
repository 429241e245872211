export { DeviceClientEndpoint } from './client.js'
export type { DeviceClientEvents } from './events.js'
export type { StartTaskOptions } from './device-tasks.js'
export type { DeviceClientOptions, ResolvedDeviceClientOptions } from './options.js'
export type { ClientState, DisconnectCause, StopReason, StateEvents } from './state.js'
export type { ConnectionEnd } from './connection.js'
export type { DropReason } from './outbox.js'
export type { CommandExecutor, ExecutionContext, ExecutorTelemetry } from './executor.js'
export {
  ToolRegistry, reasonText, LIST_TOOLS, SKIPPED_TEXT, type ToolDefinition, type ToolSet, type ToolContext, type ExecuteOptions
} from './tools.js'
export {
  collectSystemInfo, collectLiveReadings, referencePlatform, detectFeatures, platformType, primaryIpv4, type SystemInfoInput,
  type OsSource, type LiveReadings
} from './telemetry.js'
export {
  connectionError, ConnectionError, RegistrationRefusedError, RegistrationTimeoutError,
  NotRegisteredError, InvalidOptionError, InvalidArgumentError, ToolTimeoutError, UnknownToolError, TaskRefusedError,
  TaskTimeoutError, TaskAbortedError, DisconnectedError, StoppedError, type ConnectionErrorDetails
} from './errors.js'
