import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net'

/** The faults the proxy injects. */
export type FaultKind = 'cut' | 'delay' | 'stall' | 'dropMidFrame'

/** One proxied connection: the client side and the server side. */
export class ProxiedConnection {
  readonly id: number
  readonly client: Socket
  readonly upstream: Socket
  /** Extra latency on every chunk, both ways, in ms. */
  delayMs = 0
  /** Stalled: nothing is forwarded and no close is propagated (a half-open TCP connection). */
  stalled = false
  #dropNext = false
  closed = false

  constructor (id: number, client: Socket, upstream: Socket, onGone: () => void) {
    this.id = id
    this.client = client
    this.upstream = upstream
    const pipe = (from: Socket, to: Socket): void => {
      from.on('data', (chunk: Buffer) => {
        if (this.stalled || this.closed) return
        if (this.#dropNext && chunk.length > 1) {
          // Half a frame goes through, then the connection dies without a close frame.
          this.#dropNext = false
          to.write(chunk.subarray(0, Math.max(1, chunk.length >> 1)), () => this.cut())
          return
        }
        if (this.delayMs > 0) {
          from.pause()
          setTimeout(() => { if (!this.closed && !this.stalled) to.write(chunk); from.resume() }, this.delayMs).unref()
        } else {
          to.write(chunk)
        }
      })
      from.on('end', () => { if (!this.stalled) to.end() })
      from.on('close', () => {
        if (!this.stalled) this.cut()
        else if (this.client.destroyed && this.upstream.destroyed) this.cut()
      })
      from.on('error', () => {})
    }
    pipe(client, upstream)
    pipe(upstream, client)
    this.onGone = onGone
  }

  readonly onGone: () => void

  /** Destroys both sides at once (a network cut: no close frame, RST). */
  cut (): void {
    if (this.closed) return
    this.closed = true
    this.client.resetAndDestroy?.()
    this.upstream.resetAndDestroy?.()
    this.client.destroy()
    this.upstream.destroy()
    this.onGone()
  }

  /** Forwards half of the next chunk (either way), then cuts. */
  dropMidFrame (): void { this.#dropNext = true }
}

/**
 * A TCP proxy on 127.0.0.1 in front of a server port, with faults: cut a connection, delay it, stall it to a
 * half-open state, drop it mid-frame. The target port may change hands (a server restart on the same port).
 */
export class FaultProxy {
  readonly #server: Server
  readonly #targetPort: () => number
  readonly connections = new Set<ProxiedConnection>()
  #next = 0
  /** Latency applied to new connections. */
  defaultDelayMs = 0
  /** Until this `Date.now()`, new connections are reset at once (see {@link FaultProxy.outage}). */
  #downUntil = 0
  /** Connections refused during outages. */
  refused = 0
  /** Called with every new proxied connection (to watch its traffic, for instance). */
  onConnection: ((connection: ProxiedConnection) => void) | null = null

  private constructor (server: Server, targetPort: () => number) {
    this.#server = server
    this.#targetPort = targetPort
  }

  static async start (targetPort: () => number): Promise<FaultProxy> {
    const holder: { proxy?: FaultProxy } = {}
    const server = createServer({ noDelay: true }, (client) => { if (holder.proxy !== undefined) holder.proxy.#accept(client) })
    const proxy = new FaultProxy(server, targetPort)
    holder.proxy = proxy
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return proxy
  }

  get port (): number {
    return (this.#server.address() as AddressInfo).port
  }

  #accept (client: Socket): void {
    if (this.down) {
      // The link is down: the peer sees its connection attempt fail (RST), as when a route or a proxy is gone.
      this.refused++
      client.on('error', () => {})
      client.resetAndDestroy()
      return
    }
    client.setNoDelay(true)
    const upstream = createConnection({ host: '127.0.0.1', port: this.#targetPort(), noDelay: true })
    const connection: ProxiedConnection = new ProxiedConnection(++this.#next, client, upstream, () => this.connections.delete(connection))
    connection.delayMs = this.defaultDelayMs
    this.connections.add(connection)
    this.onConnection?.(connection)
  }

  /** Live connections that are not stalled, oldest first. */
  live (): ProxiedConnection[] {
    return [...this.connections].filter((c) => !c.closed && !c.stalled)
  }

  /** Injects `kind` on the `index`-th live connection (modulo); false when there is none. */
  inject (kind: FaultKind, index: number, delayMs = 50): boolean {
    const live = this.live()
    if (live.length === 0) return false
    const target = live[index % live.length] as ProxiedConnection
    switch (kind) {
      case 'cut': target.cut(); break
      case 'delay': target.delayMs = delayMs; break
      case 'stall': target.stalled = true; break
      case 'dropMidFrame': target.dropMidFrame(); break
    }
    return true
  }

  /** True during an {@link FaultProxy.outage}. */
  get down (): boolean {
    return Date.now() < this.#downUntil
  }

  /**
   * A link outage of `ms` from now: every live connection is cut (RST both sides) and new ones are refused until
   * it is over (an outage during an outage extends it). Returns the number of connections cut.
   */
  outage (ms: number): number {
    let cut = 0
    for (const connection of [...this.connections]) {
      if (connection.closed) continue
      connection.cut()
      cut++
    }
    this.#downUntil = Math.max(this.#downUntil, Date.now() + ms)
    return cut
  }

  /** Ends an outage now: new connections are forwarded again. */
  restore (): void {
    this.#downUntil = 0
  }

  async close (): Promise<void> {
    this.#downUntil = 0
    for (const connection of this.connections) connection.cut()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }
}
