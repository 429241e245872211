import { PRESENCE_CAPABILITY, readDevicePresence, type ContinuityGrant, type DecodedServerMessage, type DevicePresence } from '@aip/protocol'
import type { ConstellationHost } from './host.js'

/*
 * The presence extension, constellation side (PROTOCOL.md, "Presence extension"): with `presence: true` each
 * device connection asks the server for `presence`; a server that grants it sends `device_presence` frames about
 * the device (the connection is scoped to it), which become `devicePresence` events and the device snapshot's
 * `presence`.
 */

/** What the constellation knows of a device's presence: the last `device_presence` frame, and when it came. */
export interface DevicePresenceUpdate extends DevicePresence {
  /** The frame's `timestamp` (the server's clock), or `null` when it had none. */
  readonly timestamp: string | null
  /** When the frame arrived (milliseconds since the epoch, this process's clock). */
  readonly receivedAt: number
}

/** Where a device's presence is kept. */
export interface PresenceHolder {
  readonly deviceId: string
  presence: DevicePresenceUpdate | null
}

/**
 * Handles a `device_presence` frame of `device`'s connection: records it and emits `devicePresence`. Returns why it
 * was dropped instead (no `presence` grant on the connection, a malformed frame, a frame about another device), or
 * `null` when it was taken.
 */
export function onPresence (host: ConstellationHost, device: PresenceHolder, grant: ContinuityGrant | null, message: DecodedServerMessage): string | null {
  if (grant?.capabilities.includes(PRESENCE_CAPABILITY) !== true) return 'device_presence on a connection not granted presence'
  const presence = readDevicePresence(message)
  if (presence === null) return 'malformed device_presence'
  if (presence.deviceId !== device.deviceId) return 'device_presence about another device'
  const update: DevicePresenceUpdate = Object.freeze({ ...presence, timestamp: message.timestamp, receivedAt: Date.now() })
  device.presence = update
  host.emit('devicePresence', update)
  return null
}
