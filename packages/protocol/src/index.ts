export {
  CLIENT_MESSAGE_TYPES, EXTENSION_CLIENT_MESSAGE_TYPES, ClientMessageType, SERVER_MESSAGE_TYPES, EXTENSION_SERVER_MESSAGE_TYPES, ServerMessageType, TASK_STATUSES, TaskStatus,
  CLIENT_TYPES, ClientType, RESULT_STATUSES, ResultStatus, TOOL_TYPES, ToolType
} from './enums.js'
export { Command, COMMAND_FIELDS, Result, RESULT_FIELDS } from './command.js'
export {
  ClientMessage, CLIENT_MESSAGE_FIELDS, ServerMessage, SERVER_MESSAGE_FIELDS,
  type DecodedClientMessage, type DecodedServerMessage
} from './messages.js'
export { DeviceSystemInfo, DEVICE_SYSTEM_INFO_FIELDS, MCPToolInfo, MCP_TOOL_INFO_FIELDS } from './device-info.js'
export {
  BinaryMetadata, FileTransferStart, ChunkMetadata, FileTransferComplete, TransferMessage
} from './binary.js'
export {
  decodeClientMessage, decodeServerMessage, decodeTransferMessage,
  DEFAULT_MAX_FRAME_BYTES, DEFAULT_MAX_DEPTH, MAX_REPORTED_ISSUES,
  type DecodeOptions, type DecodeResult, type Frame, type FrameCorrelation
} from './decode.js'
export { encodeClientMessage, encodeServerMessage, type EncodeOptions } from './encode.js'
export { normalizeClientMessage, normalizeServerMessage, normalizeCommand, normalizeResult } from './normalize.js'
export { formatTimestamp, epochMicros, timestamp } from './timestamp.js'
export { newId, constellationSessionId, constellationClientId, sanitizeTaskName } from './ids.js'
export {
  buildDeviceRegistration, buildConstellationRegistration, buildHeartbeat, buildTaskRequest,
  buildCommandResults, buildClientError, buildDeviceInfoRequest, buildDeviceInfoPush,
  DEFAULT_CONSTELLATION_CAPABILITIES,
  type ClientMessageBase, type DeviceRegistrationInput, type ConstellationRegistrationInput, type HeartbeatInput,
  type TaskRequestInput, type CommandResultsInput, type ClientErrorInput, type DeviceInfoRequestInput,
  type DeviceInfoPushInput
} from './client-builders.js'
export {
  buildServerHeartbeat, buildRegistrationConfirmation, buildTaskAck, buildCommand, buildTaskEnd,
  buildServerError, buildDeviceInfoResponse, deviceInfoUnavailable, buildServerTask,
  type ServerMessageBase, type ServerHeartbeatInput, type TaskAckInput, type CommandInput, type TaskEndInput,
  type ServerErrorInput, type DeviceInfoResponseInput, type ServerTaskInput
} from './server-builders.js'
export {
  isRegistrationConfirmation, isTaskAck, isTaskEnd, answersCommand, answersDeviceInfoRequest, unansweredCallIds
} from './correlation.js'
export {
  InvalidJsonError, FrameTooLargeError, FrameTooDeepError, InvalidMessageError, InvalidArgumentError,
  ProtocolErrorCode, type ProtocolError, type ProtocolIssue
} from './errors.js'
export {
  CONTINUITY_CAPABILITIES, AIP_CAPABILITIES, CAPABILITIES_KEY, GRANT_FIELD, TIMEOUT_KEY, RESENT_FIELD, TASK_CANCEL,
  grantField, readGrant, requestedCapabilities, resumeDelayCap, taskTimeoutMs, buildTaskCancel,
  type ContinuityCapability, type AipCapability, type ContinuityGrant, type TaskCancelInput
} from './continuity.js'
export {
  DRAIN_CLOSE_CODE, DRAIN_REASON_PREFIX, MAX_DRAIN_RETRY_MS, drainCloseReason, readDrainHint, type DrainHint
} from './drain.js'
export {
  PRESENCE_CAPABILITY, DEVICE_PRESENCE, PRESENCE_EVENTS, buildDevicePresence, readDevicePresence,
  type PresenceEvent, type PresenceState, type DevicePresence, type DevicePresenceInput
} from './presence.js'
