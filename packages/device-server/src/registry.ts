import type { ClientType, DeviceSystemInfo } from '@aip/protocol'

/** What the server knows about a registered client. */
export interface ClientRecord {
  readonly clientId: string
  readonly clientType: ClientType
  /** The device a constellation is scoped to (`null` for a device, or an unscoped constellation). */
  readonly targetId: string | null
  /** `metadata.platform` of a device's REGISTER. */
  readonly platform: string | null
  /** `metadata.system_info` of a device's REGISTER (or its latest push), answered to device-info requests. */
  systemInfo: DeviceSystemInfo | Record<string, unknown> | null
  /** The REGISTER metadata as sent. */
  readonly metadata: Readonly<Record<string, unknown>> | null
  /** Milliseconds since the epoch. */
  readonly registeredAt: number
  /**
   * Set by `DeviceServerEndpoint.listClients` on the record of a client that is away (the continuity extension: its
   * connection dropped and its resume window runs): `true`, with `awaySince` (milliseconds since the epoch).
   * Absent on connected clients and in the registry itself.
   */
  readonly away?: boolean
  readonly awaySince?: number
}

/**
 * The registry of connected clients. The in-memory default serves one node; a shared implementation (Redis, for
 * example) lets several nodes see each other's clients. Calls are synchronous for the embedded default;
 * implementations over a network keep a local view and synchronise in the background.
 */
export interface ClientRegistry {
  add: (record: ClientRecord) => void
  get: (clientId: string) => ClientRecord | undefined
  remove: (clientId: string) => void
  list: () => ClientRecord[]
  readonly size: number
}

/** The embedded registry: a Map. Its size is bounded by the connections the server accepts. */
export class InMemoryClientRegistry implements ClientRegistry {
  readonly #clients = new Map<string, ClientRecord>()

  add (record: ClientRecord): void {
    this.#clients.set(record.clientId, record)
  }

  get (clientId: string): ClientRecord | undefined {
    return this.#clients.get(clientId)
  }

  remove (clientId: string): void {
    this.#clients.delete(clientId)
  }

  list (): ClientRecord[] {
    return [...this.#clients.values()]
  }

  get size (): number {
    return this.#clients.size
  }
}
