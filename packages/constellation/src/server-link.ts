import { Liveness, childLogger, redactUrl, type Logger } from '@aip/endpoint'
import type { ReconnectionStrategy } from '@aip/resilience'
import type { ResolvedConstellationOptions } from './options.js'

/** A connection the link's heartbeat timer drives. */
export interface Beating {
  /** Called once per heartbeat interval: check the previous heartbeat, send the next. */
  beat: () => void
}

/**
 * What the connections of one server share (or of one list of servers: the nodes of a fleet, which devices with
 * the same `serverUrl` list use in turn). The reference identity (`<taskName>@<deviceId>`, scoped to one device)
 * forces one WebSocket per device, so the link shares everything else: the redacted key, a logger child, the
 * reconnection strategy (one backoff state per server, jittered per device), and a single re-armed,
 * `unref()`ed heartbeat timer that beats every connection of the server.
 */
export class ServerLink {
  /**
   * The server URL without its query (for a list, each without its query, joined with `,`): the key of the link,
   * and the only form that is ever logged.
   */
  readonly key: string
  readonly log: Logger
  readonly strategy: ReconnectionStrategy
  readonly #ownsStrategy: boolean
  readonly #intervalMs: number
  readonly #beating = new Set<Beating>()
  /** Devices using this link (connected or not). */
  readonly devices = new Set<string>()
  #liveness: Liveness | undefined

  constructor (key: string, options: { logger: Logger, strategy: ReconnectionStrategy, ownsStrategy: boolean, heartbeatIntervalMs: number }) {
    this.key = key
    this.log = childLogger(options.logger, { server: this.key })
    this.strategy = options.strategy
    this.#ownsStrategy = options.ownsStrategy
    this.#intervalMs = options.heartbeatIntervalMs
  }

  /** The key of a server URL: scheme, host, port and path, never the query (the token). */
  static keyOf (url: URL): string {
    return redactUrl(`${url.protocol}//${url.host}${url.pathname}`)
  }

  /** The key of the link of a list of server URLs: their keys, joined with `,`. */
  static keyOfList (urls: readonly URL[]): string {
    return urls.map((url) => ServerLink.keyOf(url)).join(',')
  }

  /** Connections currently beaten by the timer. */
  get connectionCount (): number {
    return this.#beating.size
  }

  /** Adds a connection to the heartbeat; starts the timer with the first one. */
  add (connection: Beating): void {
    this.#beating.add(connection)
    this.#liveness ??= new Liveness({ intervalMs: this.#intervalMs, onTick: () => this.#beat() })
  }

  /** Removes a connection; stops the timer with the last one. */
  remove (connection: Beating): void {
    this.#beating.delete(connection)
    if (this.#beating.size === 0) this.#clear()
  }

  /** Stops the timer and, if the link built it, disposes the strategy (abandoning its reconnections). */
  dispose (): void {
    this.#beating.clear()
    this.#clear()
    if (this.#ownsStrategy) this.strategy.dispose()
  }

  #beat (): void {
    for (const connection of [...this.#beating]) {
      try {
        connection.beat()
      } catch (err) {
        this.log.warn({ err }, 'heartbeat failed')
      }
    }
  }

  #clear (): void {
    this.#liveness?.stop()
    this.#liveness = undefined
  }
}

/** A device as its server link sees it. */
interface LinkedDevice {
  readonly deviceId: string
  link: ServerLink
}

/** The server links of a constellation, by server key: built on first use, disposed with their last device. */
export class ServerLinks {
  readonly #links = new Map<string, ServerLink>()
  readonly #options: ResolvedConstellationOptions
  readonly #log: Logger

  constructor (options: ResolvedConstellationOptions, log: Logger) {
    this.#options = options
    this.#log = log
  }

  /** The link of a server URL, or of a list of them (built with the reconnection strategy of its key on first use). */
  forUrls (urls: readonly URL[]): ServerLink {
    const key = ServerLink.keyOfList(urls)
    let link = this.#links.get(key)
    if (link === undefined) {
      const { strategy, owned } = this.#options.strategyFor(key)
      link = new ServerLink(key, { logger: this.#log, strategy, ownsStrategy: owned, heartbeatIntervalMs: this.#options.heartbeatIntervalMs })
      this.#links.set(key, link)
    }
    return link
  }

  /** The device no longer uses its link; the link goes with its last device. */
  release (device: LinkedDevice): void {
    const link = device.link
    link.devices.delete(device.deviceId)
    if (link.devices.size === 0 && this.#links.get(link.key) === link) {
      this.#links.delete(link.key)
      link.dispose()
    }
  }

  /** Moves a device to the link of `urls` (its profile changed servers). */
  move (device: LinkedDevice, urls: readonly URL[]): void {
    const link = this.forUrls(urls)
    if (link === device.link) return
    this.release(device)
    device.link = link
    link.devices.add(device.deviceId)
  }

  /** Disposes every link (the endpoint stops). */
  disposeAll (): void {
    for (const link of this.#links.values()) link.dispose()
    this.#links.clear()
  }
}
