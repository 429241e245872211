import type { ClientType } from '@aip/protocol'
import { PRESENCE_CAPABILITY, buildDevicePresence, encodeServerMessage, type PresenceEvent, type PresenceState } from '@aip/protocol'
import type { Unsubscribe } from '@aip/resilience'
import type { PresenceEventMessage, PresenceInterestMessage } from './cluster/link.js'
import type { ClusterPresence } from './cluster/runtime.js'
import type { ServerCore } from './core.js'
import type { PresenceScope } from './options.js'

/*
 * The presence extension, server side (PROTOCOL.md, "Presence extension"): constellations granted `presence` get a
 * `device_presence` frame when a device they may see connects, leaves, goes away, resumes, becomes busy or idle,
 * or pushes fresh telemetry. Fed by the server's own events; nothing here runs per task while no one watches.
 *
 * In a cluster, a node with constellations granted `presence` asks every other node for the events of its devices
 * (`presence_interest`, renewed every node lease, lasting {@link INTEREST_LEASES} of them); a node so asked sends each
 * frame it makes about its devices to those nodes (`presence_event`, encoded once), which hand it to their
 * constellations with the same scoping (`device_id` watched, or every device). A device on another node is in a
 * snapshot too, read from its lease (`online`; its running tasks are counted from its next busy/idle event).
 */

/** Another node's interest in this node's presence events lasts this many node leases (it is renewed every one). */
const INTEREST_LEASES = 3

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
export class PresenceHub implements ClusterPresence {
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
  /** Other nodes that asked for this node's presence events, and until when (this node's clock). */
  readonly #remote = new Map<string, number>()
  /** Renews this node's interest in the other nodes' events, while a constellation here watches. */
  #announcer: NodeJS.Timeout | null = null

  constructor (core: ServerCore) {
    this.#core = core
    const { events } = core
    events.on('clientRegistered', ({ clientId }) => { this.#registered(clientId, 'connected') })
    events.on('clientResumed', ({ clientId }) => { this.#registered(clientId, 'resumed') })
    events.on('clientAway', ({ clientId, clientType }) => { this.#gone(clientId, clientType, 'away') })
    events.on('clientDisconnected', ({ clientId, clientType }) => { this.#gone(clientId, clientType, 'left') })
    events.on('stateChange', ({ to }) => { if (to === 'stopped') this.#dispose() })
    if (core.cluster !== null) core.cluster.presence = this
  }

  /** A presence message of another node of the cluster. */
  nodeMessage (message: PresenceInterestMessage | PresenceEventMessage): void {
    const core = this.#core
    if (message.from === core.cluster?.link.nodeId) return
    if (message.kind === 'presence_interest') {
      this.#remote.set(message.from, core.options.now() + message.ttlMs)
      if (this.#taskListeners === null) this.#follow()
      return
    }
    // A device of another node: its frame, as made there, to the constellations here that may see it.
    for (const set of [this.#watchers.get(message.deviceId), this.#watchers.get(EVERY_DEVICE)]) {
      for (const clientId of set ?? []) core.clients.get(clientId)?.sendEncoded(message.message, message.text)
    }
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
    if (this.#announcer === null && this.#core.cluster !== null) {
      this.#announce()
      this.#announcer = setInterval(() => { this.#announce() }, this.#core.cluster.link.nodeLeaseMs)
      this.#announcer.unref()
    }
  }

  /** Asks every other live node for the presence events of its devices (errors are logged; renewed every lease). */
  #announce (): void {
    const cluster = this.#core.cluster
    if (cluster === null || !cluster.ready) return
    const { link } = cluster
    const ttlMs = INTEREST_LEASES * link.nodeLeaseMs
    link.listNodes()
      .then(async (nodes) => {
        await Promise.all(nodes.filter((nodeId) => nodeId !== link.nodeId).map(async (nodeId) => {
          await link.sendToNode(nodeId, { kind: 'presence_interest', from: link.nodeId, ttlMs })
        }))
      })
      .catch((err: unknown) => { this.#core.logger.debug({ err }, 'cluster: presence interest not sent; sent again at the next lease') })
  }

  /** The nodes whose interest in this node's events still runs (the others are forgotten). */
  #interestedNodes (): string[] {
    if (this.#remote.size === 0) return []
    const now = this.#core.options.now()
    for (const [nodeId, until] of this.#remote) if (until < now) this.#remote.delete(nodeId)
    return [...this.#remote.keys()]
  }

  #unwatch (clientId: string): void {
    const deviceId = this.#watching.get(clientId)
    if (deviceId === undefined) return
    this.#watching.delete(clientId)
    const set = this.#watchers.get(deviceId)
    set?.delete(clientId)
    if (set?.size === 0) this.#watchers.delete(deviceId)
    if (this.#watching.size > 0) return
    if (this.#announcer !== null) clearInterval(this.#announcer)
    this.#announcer = null
    if (this.#interestedNodes().length === 0) this.#unfollow()
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
    return this.#watchers.has(deviceId) || this.#watchers.has(EVERY_DEVICE) || this.#remote.size > 0
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

  /**
   * Sends `event` about `deviceId` to every constellation watching it, and to the other nodes that asked for this
   * node's events: one frame, encoded once.
   */
  #publish (deviceId: string, event: PresenceEvent): void {
    // No watcher here and no other node asking (every plain registration): nothing to look up or build.
    if (this.#watchers.size === 0 && this.#remote.size === 0) {
      if (this.#watching.size === 0 && this.#taskListeners !== null) this.#unfollow()
      return
    }
    const scoped = this.#watchers.get(deviceId)
    const every = this.#watchers.get(EVERY_DEVICE)
    const nodes = this.#interestedNodes()
    if (scoped === undefined && every === undefined && nodes.length === 0) {
      // The last interest of another node ran out while no constellation here watches.
      if (this.#watching.size === 0 && this.#taskListeners !== null) this.#unfollow()
      return
    }
    const message = this.#frame(deviceId, event)
    const text = encodeServerMessage(message, { validate: false })
    for (const set of [scoped, every]) {
      for (const clientId of set ?? []) this.#core.clients.get(clientId)?.sendEncoded(message, text)
    }
    const cluster = this.#core.cluster
    if (cluster === null) return
    for (const nodeId of nodes) {
      cluster.link.sendToNode(nodeId, { kind: 'presence_event', from: cluster.link.nodeId, deviceId, message, text })
        .catch((err: unknown) => { this.#core.logger.debug({ err, nodeId, deviceId }, 'cluster: presence event not sent') })
    }
  }

  /** Right after a grant: the state of each device the constellation may see, one frame each. */
  #snapshot (clientId: string, targetId: string | null): void {
    const connection = this.#core.clients.get(clientId)
    if (connection === undefined) return
    const cluster = this.#core.cluster
    // A device on another node: read from the cluster (asynchronously).
    if (targetId !== null && cluster !== null && cluster.isRemote(targetId)) {
      this.#remoteSnapshot(clientId, targetId)
      return
    }
    const devices = targetId !== null
      ? [targetId]
      : this.#core.options.registry.list().filter((record) => record.clientType === 'device').map((record) => record.clientId)
    for (const deviceId of devices) connection.send(this.#frame(deviceId, 'snapshot'))
    if (targetId === null && cluster !== null) this.#remoteSnapshot(clientId, null)
  }

  /**
   * The snapshot of devices on other nodes, from their leases: `targetId`'s (offline when no node holds it, or when
   * the store cannot be asked), or every device of the other nodes.
   */
  #remoteSnapshot (clientId: string, targetId: string | null): void {
    const core = this.#core
    const cluster = core.cluster
    if (cluster === null) return
    const lookup = targetId !== null
      ? cluster.link.locate(targetId).then((holder) => [holder])
      : cluster.link.listClients()
    lookup.catch((err: unknown) => {
      core.logger.debug({ err, clientId }, 'cluster: presence snapshot of other nodes not read')
      return [null]
    }).then((clients) => {
      const connection = core.clients.get(clientId)
      if (connection === undefined) return
      for (const client of clients) {
        if (client === null) {
          if (targetId !== null) connection.send(this.#frame(targetId, 'snapshot'))
          continue
        }
        if (client.clientType !== 'device' || client.nodeId === cluster.link.nodeId || !cluster.isRemote(client.clientId)) continue
        connection.send(buildDevicePresence({
          deviceId: client.clientId,
          event: 'snapshot',
          state: 'online',
          runningTasks: 0,
          platform: client.platform,
          systemInfo: client.systemInfo
        }))
      }
    }).catch((err: unknown) => { core.logger.debug({ err, clientId }, 'presence snapshot not sent') })
  }

  #dispose (): void {
    this.#unfollow()
    this.#watchers.clear()
    this.#watching.clear()
    if (this.#announcer !== null) clearInterval(this.#announcer)
    this.#announcer = null
    this.#remote.clear()
  }
}
