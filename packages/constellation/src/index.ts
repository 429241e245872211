export { ConstellationEndpoint, type DeviceInfoOptions } from './constellation.js'
export { normalizeDeviceInfo, type DeviceInfoView, type DeviceInfoAnswer } from './device-info.js'
export type { ConstellationOptions, ResolvedConstellationOptions, ResolvedProfile, TransportFactory } from './options.js'
export type {
  AgentProfile, TaskRequest, TaskResult, TaskOutcome, TaskPhase, DeviceStatus, DeviceSnapshot, MessageContext,
  MessageProcessor, ConstellationEvents, SendTaskOptions, SlotReleaseCause
} from './types.js'
export type { ContinuityCapability, AipCapability, ContinuityGrant, DevicePresence, PresenceEvent, PresenceState } from '@aip/protocol'
export type { DevicePresenceUpdate } from './presence.js'
export {
  InvalidOptionError, InvalidArgumentError, RegistrationRefusedError, RegistrationTimeoutError,
  ConnectErrorConstructor, NotConnectedError, UnknownDeviceError, TaskRefusedError, TaskAbortedError,
  DeviceDisconnectedError, StoppedError, DeviceInfoRefusedError, QueueFullError, DuplicateSessionError, type ConnectError
} from './errors.js'
