export { ConstellationEndpoint, type DeviceInfoOptions } from './constellation.js'
export { normalizeDeviceInfo, type DeviceInfoView, type DeviceInfoAnswer } from './device-info.js'
export type { ConstellationOptions, ResolvedConstellationOptions, ResolvedProfile, TransportFactory } from './options.js'
export type {
  AgentProfile, TaskRequest, TaskResult, TaskOutcome, TaskPhase, DeviceStatus, DeviceSnapshot, MessageContext,
  MessageProcessor, ConstellationEvents, SendTaskOptions, SlotReleaseCause
} from './types.js'
export type { ContinuityCapability, ContinuityGrant } from '@aip/protocol'
export {
  InvalidOptionError, InvalidArgumentError, RegistrationRefusedError, RegistrationTimeoutError,
  ConnectErrorConstructor, NotConnectedError, UnknownDeviceError, TaskRefusedError, TaskAbortedError,
  DeviceDisconnectedError, StoppedError, DeviceInfoRefusedError, QueueFullError, DuplicateSessionError, type ConnectError
} from './errors.js'
