import {
  ConnectionLifecycle, FailureJudge, ServerList, type AIPProtocol, type AttemptFacts, type ConnectionEvent, type ConnectionState,
  type DisconnectCause, type FailureReason
} from '@aip/endpoint'
import { constellationClientId, type ContinuityGrant } from '@aip/protocol'
import type { DeviceConnection } from './device-connection.js'
import type { ConstellationHost } from './host.js'
import type { ResolvedProfile } from './options.js'
import type { DevicePresenceUpdate } from './presence.js'
import { PendingInfos } from './pending.js'
import type { ResumeHold } from './resume.js'
import { ServerLink } from './server-link.js'
import { TaskQueue } from './task-queue.js'
import type { DeviceSnapshot, DeviceStatus } from './types.js'

/** What a registered device is doing: just registered, running tasks, or waiting for one. */
type Activity = 'connected' | 'busy' | 'idle'

/**
 * A device of the constellation: its profile, its server link, its one connection and the shared client
 * lifecycle of that connection (`ConnectionLifecycle` of `@aip/endpoint`, the one place its state changes),
 * its task queue and pending device-info requests. Its public {@link DeviceStatus} is derived from the
 * lifecycle state and the running tasks.
 */
export class Device {
  #profile: ResolvedProfile
  link: ServerLink
  /** The servers of the profile, tried in turn. */
  servers: ServerList
  /** The key (URL without its query) of each server of the profile, by index. */
  serverKeys: readonly string[]
  readonly deviceId: string
  readonly clientId: string
  readonly tasks: TaskQueue
  readonly infos = new PendingInfos()
  /** The one decision on retrying a failed attempt. */
  readonly judge = new FailureJudge()
  /** The registered connection, or the one being opened. */
  connection: DeviceConnection | undefined
  /** A connection attempt in flight, joined by concurrent callers. */
  attempt: Promise<void> | undefined
  attemptAbort: AbortController | undefined
  /** The reconnection loop in flight. */
  recovery: AbortController | undefined
  lastError: unknown
  /** What is known of the last failed attempt, for the failure judge. */
  lastFacts: AttemptFacts = {}
  /** How the last failed attempt on one server failed (the round's loss is chosen among them). */
  lastLoss: DisconnectCause | undefined
  /** Why retrying stopped, when a failure could not heal. */
  failure: FailureReason | undefined
  removed = false
  connections = 0
  lastHeartbeatAt: number | null = null
  /** What the server granted at the last registration (continuity, presence), or `null`. */
  grant: ContinuityGrant | null = null
  /** The last `device_presence` frame about the device (presence granted), or `null`. */
  presence: DevicePresenceUpdate | null = null
  /** The running tasks wait for a resume (the connection dropped on a server that granted `resume`). */
  hold: ResumeHold | undefined
  readonly #host: ConstellationHost
  readonly #lifecycle: ConnectionLifecycle
  #activity: Activity = 'connected'
  #status: DeviceStatus = 'disconnected'

  constructor (host: ConstellationHost, profile: ResolvedProfile, link: ServerLink) {
    this.#host = host
    this.#profile = profile
    this.servers = new ServerList(profile.serverUrls)
    this.serverKeys = serverKeysOf(profile)
    this.link = link
    this.deviceId = profile.deviceId
    this.clientId = constellationClientId(host.options.taskName, profile.deviceId)
    this.#lifecycle = new ConnectionLifecycle(({ state }) => this.#publish(state))
    const device = this
    this.tasks = new TaskQueue(host, {
      deviceId: this.deviceId,
      clientId: this.clientId,
      get removed () { return device.removed },
      get sendable () { return device.sendable },
      get grant () { return device.grant },
      activityChanged: () => this.#onActivity()
    })
  }

  /** The validated profile the device connects with. */
  get profile (): ResolvedProfile {
    return this.#profile
  }

  /** A new profile (the device is connected again with it): its servers are tried from the first. */
  set profile (profile: ResolvedProfile) {
    this.#profile = profile
    this.servers = new ServerList(profile.serverUrls)
    this.serverKeys = serverKeysOf(profile)
  }

  /** The URL without its query of the server in use, being tried, or last tried. */
  get serverUrl (): string {
    return this.serverKeys[this.servers.current.index] as string
  }

  /** The lifecycle state of the device's connection. */
  get state (): ConnectionState {
    return this.#lifecycle.state
  }

  /** The public status: derived from the lifecycle state and the running tasks. */
  get status (): DeviceStatus {
    return this.#status
  }

  /** The registered, open connection's protocol, if any. */
  get sendable (): AIPProtocol<'client'> | undefined {
    const connection = this.connection
    return connection !== undefined && connection.established && connection.protocol.isOpen ? connection.protocol : undefined
  }

  /** The one place the device's connection state changes: an event through the shared lifecycle. */
  apply (event: ConnectionEvent): boolean {
    if (event.type === 'registered') this.#activity = 'connected'
    return this.#lifecycle.apply(event)
  }

  /** A frozen snapshot. */
  snapshot (): DeviceSnapshot {
    return Object.freeze({
      deviceId: this.deviceId,
      clientId: this.clientId,
      serverUrl: this.serverUrl,
      serverUrls: this.serverKeys,
      status: this.#status,
      os: this.profile.os,
      capabilities: this.profile.capabilities,
      metadata: this.profile.metadata,
      queued: this.tasks.queued.length,
      running: this.tasks.running.size,
      cancelling: this.tasks.cancelled.size,
      continuity: this.grant,
      awaitingResume: this.hold !== undefined,
      connections: this.connections,
      lastHeartbeatAt: this.lastHeartbeatAt,
      presence: this.presence
    })
  }

  #onActivity (): void {
    if (this.#lifecycle.state.kind !== 'registered') return
    this.#activity = this.tasks.busySlots > 0 ? 'busy' : 'idle'
    this.#publish(this.#lifecycle.state)
  }

  /** Emits `deviceState` when the derived status changed. */
  #publish (state: ConnectionState): void {
    const to = statusOf(state, this.#activity)
    const from = this.#status
    if (from === to) return
    this.#status = to
    const error = state.kind === 'lost' ? state.cause.error : state.kind === 'stopped' ? state.error : undefined
    const serverUrl = this.serverUrl
    this.link.log.debug({ deviceId: this.deviceId, from, to, url: serverUrl }, 'device state')
    this.#host.emit('deviceState', {
      deviceId: this.deviceId,
      from,
      to,
      serverUrl,
      ...(error === undefined ? {} : { error }),
      ...(to === 'failed' && this.failure !== undefined ? { failure: this.failure } : {})
    })
  }
}

/** The keys (URLs without their queries) of a profile's servers, frozen. */
function serverKeysOf (profile: ResolvedProfile): readonly string[] {
  return Object.freeze(profile.serverUrls.map((url) => ServerLink.keyOf(new URL(url))))
}

/** The public status of a lifecycle state. */
function statusOf (state: ConnectionState, activity: Activity): DeviceStatus {
  switch (state.kind) {
    case 'connecting':
      return 'connecting'
    case 'registered':
      return activity
    case 'stopped':
      return state.reason === 'stopped' ? 'disconnected' : 'failed'
    default:
      return 'disconnected'
  }
}
