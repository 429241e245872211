export { computeBackoffMs, ReconnectionPolicy } from './backoff.js'
export type { BackoffOptions } from './backoff.js'
export { DeadlineQueue } from './deadline-queue.js'
export type { DeadlineClock, Schedule } from './deadline-queue.js'
export { AbortedError, InvalidArgumentError, InvalidOptionError, TimeoutError } from './errors.js'
export type { TimeoutDetails } from './errors.js'
export { TypedEmitter } from './events.js'
export type { Unsubscribe } from './events.js'
export { HeartbeatManager } from './heartbeat.js'
export type { HeartbeatEvents, HeartbeatStartOptions } from './heartbeat.js'
export { silentLogger } from './logger.js'
export type { LogFn, Logger } from './logger.js'
export {
  CheckedOption, Default, FunctionOption, InstanceOption, LoggerOption, MAX_TIMER_MS, Milliseconds, describeValue, isLogger,
  resolveOptions
} from './schema-options.js'
export type { MillisecondsOptions, OptionsInput, ResolvedOptions, WithDefault } from './schema-options.js'
export type {
  HeartbeatManagerOptions,
  HeartbeatSend,
  HeartbeatSendContext,
  ReconnectionStrategyOptions,
  ResolvedHeartbeatOptions,
  ResolvedReconnectionOptions,
  ResolvedTimeoutOptions,
  TimeoutManagerOptions
} from './options.js'
export { ReconnectionStrategy } from './reconnection.js'
export type { AttemptReconnectionOptions, ReconnectableEndpoint, ReconnectionEvents } from './reconnection.js'
export { sleep } from './sleep.js'
export type { SleepOptions } from './sleep.js'
export { TimeoutManager } from './timeout.js'
export type { TimedWork, WithTimeoutOptions } from './timeout.js'
