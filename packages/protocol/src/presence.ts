import type { DecodedServerMessage } from './messages.js'
import { serverMessage } from './server-builders.js'

/*
 * The presence extension (PROTOCOL.md, "Presence extension"). Negotiated like continuity: a constellation lists
 * `presence` in its REGISTER `metadata.aip_capabilities`; a server that grants it lists it in the `aip` field of
 * its registration confirmation, and from then on sends that connection `device_presence` frames about the devices
 * it may see. A client that did not ask (the Python reference, our clients by default) never gets one.
 */

/** The capability a constellation asks for (in `metadata.aip_capabilities`) to get `device_presence` frames. */
export const PRESENCE_CAPABILITY = 'presence'

/** Extension server message type: something happened to a device the constellation may see. */
export const DEVICE_PRESENCE = 'device_presence'

/**
 * Every presence event: `snapshot` (the state at the grant: one frame per device the constellation may see, right
 * after the registration confirmation), `connected` (the device registered), `left` (it is gone), `away` (its
 * connection dropped inside its resume window), `resumed` (it came back within the window), `busy` (its running
 * tasks went from 0 to 1), `idle` (from 1 to 0), `telemetry` (it pushed fresh telemetry; at most one frame per
 * device per `presenceTelemetryIntervalMs`, carrying the latest record).
 */
export const PRESENCE_EVENTS = ['snapshot', 'connected', 'left', 'away', 'resumed', 'busy', 'idle', 'telemetry'] as const

/** A presence event: see {@link PRESENCE_EVENTS}. */
export type PresenceEvent = typeof PRESENCE_EVENTS[number]

/** Where a device is: registered and connected, away inside its resume window, or gone. */
export type PresenceState = 'online' | 'away' | 'offline'

/** What a `device_presence` frame says (its `result`, in camel case). */
export interface DevicePresence {
  readonly deviceId: string
  readonly event: PresenceEvent
  readonly state: PresenceState
  /** Tasks running on the device (as executor) when the frame was written: 0 is idle. */
  readonly runningTasks: number
  /** The platform the device registered with, or `null`. */
  readonly platform: string | null
  /**
   * The device's latest telemetry record (its `system_info`) on `snapshot`, `connected`, `resumed` and `telemetry`;
   * `null` on the other events, or when the device reported none.
   */
  readonly systemInfo: Readonly<Record<string, unknown>> | null
}

/** Input of {@link buildDevicePresence}. */
export interface DevicePresenceInput extends DevicePresence {
  timestamp?: string | undefined
  responseId?: string | undefined
}

const STATES: readonly string[] = ['online', 'away', 'offline']

/**
 * A `device_presence` frame: a ServerMessage in the reference form (every field, in order) whose `type` is
 * `device_presence`, `status` `ok`, and `result` the event in snake case:
 * `{ device_id, event, state, running_tasks, platform, system_info }`. Only for a connection granted `presence`.
 */
export function buildDevicePresence (input: DevicePresenceInput): DecodedServerMessage {
  return serverMessage({
    type: DEVICE_PRESENCE,
    status: 'ok',
    timestamp: input.timestamp,
    response_id: input.responseId,
    result: {
      device_id: input.deviceId,
      event: input.event,
      state: input.state,
      running_tasks: input.runningTasks,
      platform: input.platform,
      system_info: input.systemInfo
    }
  })
}

/**
 * The event of a `device_presence` frame, or `null` when the message is not one or its `result` is malformed (an
 * unknown event or state, a missing device id). Frozen.
 */
export function readDevicePresence (message: Pick<DecodedServerMessage, 'type' | 'result'>): DevicePresence | null {
  if (message.type !== DEVICE_PRESENCE) return null
  const result = message.result
  if (typeof result !== 'object' || result === null || Array.isArray(result)) return null
  const { device_id: deviceId, event, state, running_tasks: runningTasks, platform, system_info: systemInfo } = result as Record<string, unknown>
  if (typeof deviceId !== 'string' || deviceId === '') return null
  if (!(PRESENCE_EVENTS as readonly unknown[]).includes(event) || !STATES.includes(state as string)) return null
  const info = typeof systemInfo === 'object' && systemInfo !== null && !Array.isArray(systemInfo) ? systemInfo as Record<string, unknown> : null
  return Object.freeze({
    deviceId,
    event: event as PresenceEvent,
    state: state as PresenceState,
    runningTasks: typeof runningTasks === 'number' && Number.isSafeInteger(runningTasks) && runningTasks >= 0 ? runningTasks : 0,
    platform: typeof platform === 'string' ? platform : null,
    systemInfo: info
  })
}
