/*
 * The error texts of the reference server, kept verbatim: they are what an operator reads in the Python device
 * and Galaxy logs. Texts of our own (for cases the reference handles silently or with library internals) follow.
 */

export const Texts = {
  duplicateClient: (id: string) => `client_id '${clip(id, MAX_ID_CHARS)}' is already registered; duplicate registrations are not allowed`,
  targetNotConnected: (id: string) => `Target device '${clip(id, MAX_ID_CHARS)}' is not connected`,
  clientIdMismatch: 'client_id does not match the registered connection',
  clientTypeMismatch: 'client_type does not match the registered connection',
  constellationNeedsTarget: 'Constellation task requests require target_id',
  targetNotDevice: 'Constellation tasks may only target device clients',
  sessionOwned: (sid: string) => `session_id '${clip(sid, MAX_ID_CHARS)}' is owned by another client`,
  deviceTargetsDevice: 'Device clients may not target other devices',
  deviceInfoOnlyConstellation: 'DEVICE_INFO_REQUEST is permitted only for constellation clients',
  deviceInfoNotAuthorized: 'Not authorized to request device info for this device',
  unknownType: (type: string) => `Unknown message type: ClientMessageType.${type.toUpperCase()}`,
  unknownError: 'Unknown error',
  deviceDisconnected: 'Task was cancelled because target device disconnected',

  // Ours.
  requesterDisconnected: 'Task was cancelled because the requester disconnected',
  firstMessageNotRegister: 'The first message must be a REGISTER',
  registerNeedsClientId: 'REGISTER requires a non-empty client_id',
  registrationTimeout: (ms: number) => `No REGISTER received within ${ms} ms`,
  clientIdNotAllowed: 'client_id is not allowed with the key used to connect',
  clientTypeNotAllowed: 'client_type is not allowed with the key used to connect',
  targetNotAllowed: 'target_id is not allowed with the key used to connect',
  clientIdNeedsOwnKey: 'client_id has its own key; connect with it',
  targetIsNotDevice: (id: string) => `Target '${clip(id, MAX_ID_CHARS)}' is not a device`,
  sessionRunning: (sid: string) => `session_id '${clip(sid, MAX_ID_CHARS)}' is already running`,
  sessionUsed: (sid: string) => `session_id '${clip(sid, MAX_ID_CHARS)}' has already been used`,
  tooManySessions: 'The server runs too many tasks; try again later',
  tooManyClientSessions: 'Too many tasks of this client are running; try again later',
  clientSessionsTooLarge: 'The running tasks of this client hold too much data; try again later',
  requestTooLong: (max: number) => `TASK request is longer than ${max} bytes`,
  taskNeedsRequest: 'TASK requires a request',
  taskNotAuthorized: 'Not authorized to send tasks to this device',
  binaryNotAccepted: 'Binary frames are not accepted outside a file transfer',
  serverShuttingDown: 'The server is shutting down',
  serverDraining: 'The server is draining before a restart; send the task to another server or retry later',
  taskCancelled: (reason: string) => `Task was cancelled: ${reason}`,
  commandTimedOut: (ms: number) => `A command got no results within ${ms} ms`,
  agentFailed: 'The agent failed while running the task',
  resultNotSerialisable: 'The task result cannot be sent (it is not JSON)',
  replaced: 'Replaced by a new connection of the same client',
  idTooLong: (field: string) => `${field} is longer than ${MAX_ID_CHARS} characters`,

  // The continuity extension.
  deviceNotResumed: (ms: number) => `Task was cancelled because target device disconnected and did not come back within the resume window (${ms} ms)`,
  requesterNotResumed: (ms: number) => `Task was cancelled because the requester disconnected and did not come back within the resume window (${ms} ms)`,
  cancelledByRequester: 'Task was cancelled by the requester',
  deadlinePassed: (ms: number) => `Task was cancelled: its deadline of ${ms} ms passed`,
  sessionNotRunning: (sid: string) => `session_id '${clip(sid, MAX_ID_CHARS)}' is not running`,
  tooManyWaitingForDevice: (id: string, max: number) =>
    `Device '${clip(id, MAX_ID_CHARS)}' is reconnecting and already has ${max} tasks waiting for it; try again later`,

  // The cluster (several servers over a shared store).
  clusterUnavailable: 'The cluster is unavailable; retry later',
  nodeLost: 'Task failed because the server running it was lost',
  movedToAnotherNode: 'Replaced by a registration of the same client on another server'
} as const

/** Longest id (`client_id`, `target_id`, `session_id`, `task_name`) a client may use; longer ones are refused. */
export const MAX_ID_CHARS = 256
/** Longest client-supplied text the server repeats in a reply or a log line; longer text is cut. */
export const MAX_ECHO_CHARS = 512

/** `text` cut to {@link MAX_ECHO_CHARS} characters, saying how much was dropped. Short text is returned as is. */
export function clip (text: string, max = MAX_ECHO_CHARS): string {
  if (text.length <= max) return text
  return `${text.slice(0, max)}... (${text.length - max} more characters)`
}

/** A correlation id worth repeating: `undefined` for one too long to be legitimate. */
export function echoId (id: string | null | undefined): string | undefined {
  return typeof id === 'string' && id.length <= MAX_ID_CHARS ? id : undefined
}
