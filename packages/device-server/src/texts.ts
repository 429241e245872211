/*
 * The error texts of the reference server, kept verbatim: they are what an operator reads in the Python device
 * and Galaxy logs. Texts of our own (for cases the reference handles silently or with library internals) follow.
 */

export const Texts = {
  duplicateClient: (id: string) => `client_id '${id}' is already registered; duplicate registrations are not allowed`,
  targetNotConnected: (id: string) => `Target device '${id}' is not connected`,
  clientIdMismatch: 'client_id does not match the registered connection',
  clientTypeMismatch: 'client_type does not match the registered connection',
  constellationNeedsTarget: 'Constellation task requests require target_id',
  targetNotDevice: 'Constellation tasks may only target device clients',
  sessionOwned: (sid: string) => `session_id '${sid}' is owned by another client`,
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
  targetIsNotDevice: (id: string) => `Target '${id}' is not a device`,
  sessionRunning: (sid: string) => `session_id '${sid}' is already running`,
  sessionUsed: (sid: string) => `session_id '${sid}' has already been used`,
  tooManySessions: 'The server runs too many tasks; try again later',
  taskNeedsRequest: 'TASK requires a request',
  taskNotAuthorized: 'Not authorized to send tasks to this device',
  binaryNotAccepted: 'Binary frames are not accepted outside a file transfer',
  serverShuttingDown: 'The server is shutting down',
  serverDraining: 'The server is draining before a restart; send the task to another server or retry later',
  taskCancelled: (reason: string) => `Task was cancelled: ${reason}`,
  commandTimedOut: (ms: number) => `A command got no results within ${ms} ms`,
  agentFailed: 'The agent failed while running the task',
  resultNotSerialisable: 'The task result cannot be sent (it is not JSON)',
  replaced: 'Replaced by a new connection of the same client'
} as const
