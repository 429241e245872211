export { DeviceClientEndpoint } from './client.js'
export type { DeviceClientEvents } from './events.js'
export type { StartTaskOptions } from './device-tasks.js'
export type { DeviceClientOptions, ResolvedDeviceClientOptions } from './options.js'
export type { ClientState, DisconnectCause, StopReason, StateEvents } from './state.js'
export type { ConnectionEnd } from './connection.js'
export type { DropReason } from './outbox.js'
export type { GrantEvent } from './continuity.js'
export type { CommandRef } from './command-runner.js'
export type { ContinuityGrant, ContinuityCapability } from '@aip/protocol'
export type { CommandExecutor, ExecutionContext, ExecutorTelemetry } from './executor.js'
export {
  ToolRegistry, LIST_TOOLS, SKIPPED_TEXT, type ToolDefinition, type ToolSet, type ToolContext, type ExecuteOptions
} from './tools.js'
export {
  ConnectionError, RegistrationRefusedError, RegistrationTimeoutError,
  NotRegisteredError, InvalidOptionError, InvalidArgumentError, ToolTimeoutError, UnknownToolError, TaskRefusedError,
  TaskTimeoutError, TaskAbortedError, DisconnectedError, StoppedError, CommandTimeoutError, RestartedInFlightError
} from './errors.js'
