import type { ClientType } from '@aip/protocol'
import { PRESENCE_CAPABILITY, buildDevicePresence, encodeServerMessage, type PresenceEvent, type PresenceState } from '@aip/protocol'
import type { Unsubscribe } from '@aip/resilience'
import type { ServerCore } from './core.js'
import type { PresenceScope } from './options.js'

/*
 * The presence extension, server side (PROTOCOL.md, "Presence extension"): constellations granted `presence` get a
 * `device_presence` frame when a device they may see connects, leaves, goes away, resumes, becomes busy or idle,
 * or pushes fresh telemetry. Fed by the server's own events; nothing here runs per task while no one watches.
 */

/** The key of the constellations that watch every device (unscoped, with `presence: 'all'`). */
const EVERY_DEVICE = '*'

/**
 * May a client registering as `clientType` scoped to `targetId` be granted `presence`? Only a constellation: scoped
 * to a device unless the scope is `off`; unscoped only with `all` (it then sees every device, telemetry included).
 */
export function mayGrantPresence (scope: PresenceScope, clientType: ClientType, targetId: string | null): boolean {
  if (clientType !== 'constellation' || scope === 'off') return false
  return targetId !== null || scope === 'all'
}

interface TelemetryPace {
  /** When the last `telemetry` frame of the device went out (the server's clock). */
  sentAt: number
  /** A frame waiting for the interval to pass; it carries the record current when it fires. */
  timer: NodeJS.Timeout | null
}

/**
 * Who watches which device, and the frames they get. One per server (when `presence` is not `off`); it follows the
 * server's events and stops with the server.
 */
export class PresenceHub {
  readonly #core: ServerCore
  /** Client ids of the constellations granted `presence`, by the device they watch ({@link EVERY_DEVICE}: all). */
  readonly #watchers = new Map<string, Set<string>>()
  /** The device (or {@link EVERY_DEVICE}) each watching constellation watches. */
  readonly #watching = new Map<string, string>()
  /** Running tasks by device, kept only while someone watches. */
  readonly #running = new Map<string, number>()
  readonly #telemetry = new Map<string, TelemetryPace>()
  /** The listeners of task starts, ends and telemetry: attached while someone watches. */
  #taskListeners: Unsubscribe[] | null = null

  constructor (core: ServerCore) {
    this.#core = core
    const { events } = core
    events.on('clientRegistered', ({ clientId }) => { this.#registered(clientId, 'connected') })
    events.on('clientResumed', ({ clientId }) => { this.#registered(clientId, 'resumed') })
    events.on('clientAway', ({ clientId, clientType }) => { this.#gone(clientId, clientType, 'away') })
    events.on('clientDisconnected', ({ clientId, clientType }) => { this.#gone(clientId, clientType, 'left') })
    events.on('stateChange', ({ to }) => { if (to === 'stopped') this.#dispose() })
  }

  #registered (clientId: string, event: 'connected' | 'resumed'): void {
    const identity = this.#core.clients.get(clientId)?.identity
    if (identity === null || identity === undefined) return
    if (identity.clientType === 'device') {
      this.#publish(clientId, event)
      return
    }
    this.#unwatch(clientId)
    if (identity.grant?.capabilities.includes(PRESENCE_CAPABILITY) !== true) return
    this.#watch(clientId, identity.targetId ?? EVERY_DEVICE)
    this.#snapshot(clientId, identity.targetId)
  }

  #gone (clientId: string, clientType: ClientType, event: 'away' | 'left'): void {
    if (clientType === 'constellation') {
      this.#unwatch(clientId)
      return
    }
    this.#publish(clientId, event)
    const pace = this.#telemetry.get(clientId)
    if (pace?.timer != null) clearTimeout(pace.timer)
    if (event === 'left') this.#telemetry.delete(clientId)
    else if (pace !== undefined) pace.timer = null
  }

  #watch (clientId: string, deviceId: string): void {
    let set = this.#watchers.get(deviceId)
    if (set === undefined) {
      set = new Set()
      this.#watchers.set(deviceId, set)
    }
    set.add(clientId)
    this.#watching.set(clientId, deviceId)
    if (this.#taskListeners === null) this.#follow()
  }

  #unwatch (clientId: string): void {
    const deviceId = this.#watching.get(clientId)
    if (deviceId === undefined) return
    this.#watching.delete(clientId)
    const set = this.#watchers.get(deviceId)
    set?.delete(clientId)
    if (set?.size === 0) this.#watchers.delete(deviceId)
    if (this.#watching.size === 0) this.#unfollow()
  }

  /** Starts following task starts and ends (the running count of every device, from the sessions now) and telemetry. */
  #follow (): void {
    const core = this.#core
    for (const session of core.sessions.list()) this.#running.set(session.deviceId, (this.#running.get(session.deviceId) ?? 0) + 1)
    this.#taskListeners = [
      core.events.on('sessionStarted', ({ deviceId }) => {
        const running = (this.#running.get(deviceId) ?? 0) + 1
        this.#running.set(deviceId, running)
        if (running === 1) this.#publish(deviceId, 'busy')
      }),
      core.events.on('taskEnd', ({ deviceId }) => {
        const running = (this.#running.get(deviceId) ?? 0) - 1
        if (running > 0) {
          this.#running.set(deviceId, running)
          return
        }
        this.#running.delete(deviceId)
        // A device that left has no idle to report: `left` said it all.
        if (running === 0 && this.#state(deviceId) !== 'offline') this.#publish(deviceId, 'idle')
      }),
      core.events.on('clientTelemetry', ({ clientId }) => { this.#telemetryPushed(clientId) })
    ]
  }

  #unfollow (): void {
    for (const unsubscribe of this.#taskListeners ?? []) unsubscribe()
    this.#taskListeners = null
    this.#running.clear()
    for (const pace of this.#telemetry.values()) if (pace.timer !== null) clearTimeout(pace.timer)
    this.#telemetry.clear()
  }

  /** At most one `telemetry` frame per device per interval; pushes in between are carried by the next one. */
  #telemetryPushed (deviceId: string): void {
    if (!this.#watched(deviceId)) return
    const now = this.#core.options.now()
    const interval = this.#core.options.presenceTelemetryIntervalMs
    const pace = this.#telemetry.get(deviceId)
    if (pace === undefined || (pace.timer === null && now - pace.sentAt >= interval)) {
      this.#telemetry.set(deviceId, { sentAt: now, timer: null })
      this.#publish(deviceId, 'telemetry')
      return
    }
    if (pace.timer !== null) return
    pace.timer = setTimeout(() => {
      pace.timer = null
      pace.sentAt = this.#core.options.now()
      this.#publish(deviceId, 'telemetry')
    }, Math.max(0, interval - (now - pace.sentAt)))
    pace.timer.unref()
  }

  #watched (deviceId: string): boolean {
    return this.#watchers.has(deviceId) || this.#watchers.has(EVERY_DEVICE)
  }

  #state (deviceId: string): PresenceState {
    if (this.#core.clients.get(deviceId)?.identity?.clientType === 'device') return 'online'
    return this.#core.away.has(deviceId) ? 'away' : 'offline'
  }

  /** The frame of `event` about `deviceId`, with the device's telemetry when the event carries it. */
  #frame (deviceId: string, event: PresenceEvent): ReturnType<typeof buildDevicePresence> {
    const record = this.#core.options.registry.get(deviceId)
    const withInfo = event === 'snapshot' || event === 'connected' || event === 'resumed' || event === 'telemetry'
    return buildDevicePresence({
      deviceId,
      event,
      state: this.#state(deviceId),
      runningTasks: this.#running.get(deviceId) ?? 0,
      platform: record?.platform ?? null,
      systemInfo: withInfo ? (record?.systemInfo ?? null) : null
    })
  }

  /** Sends `event` about `deviceId` to every constellation watching it: one frame, encoded once. */
  #publish (deviceId: string, event: PresenceEvent): void {
    const scoped = this.#watchers.get(deviceId)
    const every = this.#watchers.get(EVERY_DEVICE)
    if (scoped === undefined && every === undefined) return
    const message = this.#frame(deviceId, event)
    const text = encodeServerMessage(message, { validate: false })
    for (const set of [scoped, every]) {
      for (const clientId of set ?? []) this.#core.clients.get(clientId)?.sendEncoded(message, text)
    }
  }

  /** Right after a grant: the state of each device the constellation may see, one frame each. */
  #snapshot (clientId: string, targetId: string | null): void {
    const connection = this.#core.clients.get(clientId)
    if (connection === undefined) return
    const devices = targetId !== null
      ? [targetId]
      : this.#core.options.registry.list().filter((record) => record.clientType === 'device').map((record) => record.clientId)
    for (const deviceId of devices) connection.send(this.#frame(deviceId, 'snapshot'))
  }

  #dispose (): void {
    this.#unfollow()
    this.#watchers.clear()
    this.#watching.clear()
  }
}
