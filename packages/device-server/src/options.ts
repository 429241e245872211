import type { Extension, Logger } from '@aip/endpoint'
import { DEFAULT_MAX_FRAME_BYTES, MAX_DRAIN_RETRY_MS, type ClientType } from '@aip/protocol'
import { planAgent, type Agent } from './agent.js'
import type { ClientKey } from './auth.js'
import {
  CheckedOption, FunctionOption, InvalidOptionError, LoggerOption, Milliseconds, describeValue, resolveOptions as resolveSchema
} from '@aip/resilience'
import { Type } from '@sinclair/typebox'
import { InMemoryClientRegistry, type ClientRegistry } from './registry.js'
import { InMemoryResultStore, type ResultStore } from './results.js'
import { InMemorySessionStore, type SessionStore } from './sessions.js'
import type { ClusterLink } from './cluster/link.js'

/**
 * Who may be granted the `presence` capability: see {@link DeviceServerOptions.presence}.
 */
export type PresenceScope = 'scoped' | 'all' | 'off'

/** A per-client key with its role: see {@link DeviceServerOptions.clientKeys}. */
export interface ClientKeyOptions {
  key: string
  /** The role the key registers as. Default `device`. */
  clientType?: ClientType
  /** For a constellation: the device ids it may target (required); `['*']` for any. */
  targets?: readonly string[]
}

/** Options of `DeviceServerEndpoint`. Times are in milliseconds. */
export interface DeviceServerOptions {
  /** Runs every task. Default: {@link planAgent}. */
  agent?: Agent
  /** The shared key of the `?token=` query. `null` (the default) accepts any client: set one in production. */
  token?: string | null
  /**
   * Per-client keys, by client id. A connection presenting one may only register as that client id and role: a
   * string is a device's key; `{ key, clientType: 'constellation', targets }` a constellation's, which must register
   * scoped to one of `targets` (`['*']`: any device, unscoped allowed). A client id listed here is refused with the
   * shared token.
   */
  clientKeys?: Readonly<Record<string, string | ClientKeyOptions>>
  /** Browser Origins allowed to open a WebSocket. Requests without Origin (native clients) always pass. Default: none. */
  allowedOrigins?: readonly string[]
  /** When set, the Host header must be one of these (`host` or `host:port`, case-insensitive). */
  allowedHosts?: readonly string[] | null
  /** Largest frame accepted, in bytes. Default 4 MiB. */
  maxPayloadBytes?: number
  /** Time a new connection has to send its REGISTER. Default 10000. */
  registrationTimeoutMs?: number
  /** Time a COMMAND waits for its results, unless the agent says otherwise. Default 120000. */
  commandTimeoutMs?: number
  /** WebSocket ping interval; a peer silent for two intervals (no frame, no pong) is dropped. Default 20000. `0` disables. */
  pingIntervalMs?: number
  /** Time an old connection has to answer a ping when its client id registers again. Default 2000. */
  takeoverProbeMs?: number
  /**
   * How long the server holds the sessions of a client granted `resume` (the continuity extension: the client asked
   * for it in its REGISTER) after its connection drops: the client is away, its tasks go on and wait for it, and a
   * registration of the same id with the same credential within the window resumes them. Default 30000. `0`
   * grants `resume` to no one: every client's sessions are cancelled at its first close (the reference behaviour).
   */
  resumeWindowMs?: number
  /**
   * Running tasks that may wait for one away device (its connection dropped, inside its resume window); one more
   * TASK for it is refused. Default 64.
   */
  maxSessionsPerAwayDevice?: number
  /** Tasks running at once, over all clients. Default 10000. */
  maxSessions?: number
  /** Tasks running at once that one client requested. Default 100. */
  maxSessionsPerClient?: number
  /** Bytes of the TASK frames of the tasks one client has running. Default 16 MiB. */
  maxSessionBytesPerClient?: number
  /** Deadline of a `dispatch()` that names none: the task is cancelled after it. Default 600000 (10 minutes). */
  dispatchTimeoutMs?: number
  /** `dispatch()`es sent to one device and not ended yet; one more throws `AIP_ERR_SERVER_TOO_MANY_DISPATCHES`. Default 100. */
  maxDispatchesPerDevice?: number
  /** Longest task `request`, in bytes of UTF-8 (TASK frames and `dispatch()`). Default 64 KiB. */
  maxRequestBytes?: number
  /** Frames queued on one connection before it is closed. Default 1000. */
  maxQueuedFrames?: number
  /**
   * Bytes sent to one connection but not yet taken by its peer (WebSocket `bufferedAmount`) past which the peer
   * is taken to be not reading: the connection is closed with 1008. Default 16 MiB.
   */
  maxOutboundBytes?: number
  /** Finished tasks kept for reading back. Default 10000. */
  maxResults?: number
  /** How long finished tasks are kept. Default 3600000 (one hour). */
  resultTtlMs?: number
  /** Memory the kept tasks may hold (their TASK_END frames and requests), in bytes. Default 64 MiB. */
  maxResultBytes?: number
  /** `agent_name` of COMMANDs when the agent names none. Default `HostAgent`, which every reference device knows. */
  agentName?: string
  /** Client registry (the design's `ws_manager`). Default: in memory. */
  registry?: ClientRegistry
  /** Running sessions (the design's `session_manager`). Default: in memory. */
  sessions?: SessionStore
  /** Result store. Default: in memory, bounded by `maxResults`, `maxResultBytes` and `resultTtlMs`. */
  results?: ResultStore
  /**
   * The link to a cluster store (for example `RedisCluster` of `@aip/redis`): several servers then act as one
   * fleet (a TASK reaches a device connected to another server, ids are unique cluster-wide, results and client
   * listings are read from every server). The endpoint starts it with its first connection (or `start()`) and
   * stops it in `stop()`. Default: none, a single server.
   */
  cluster?: ClusterLink
  /**
   * The reconnect window the end of a `drain()` tells clients: every connection is closed with 1012 and the reason
   * `aip-drain retry-ms=<drainRetryMs>`, and a client that reads it reconnects after a random delay within it.
   * 0 to 60000. Default 5000.
   */
  drainRetryMs?: number
  /**
   * How long the end of a `drain()` takes to close every connection: the closes are spread evenly over it, so that
   * a fleet does not reconnect all at once. 0 closes them all at once. Default 1000.
   */
  drainReconnectSpreadMs?: number
  /**
   * Who may be granted `presence` (a constellation that asks for it in its REGISTER gets `device_presence` frames:
   * a device connected, left, went away, resumed, became busy or idle, pushed fresh telemetry). `scoped` (the
   * default): a constellation registered with a `target_id`, for that device only; an unscoped constellation is not
   * granted it. `all`: unscoped constellations too, for every device, telemetry included (only when every holder
   * of a constellation credential may see the whole fleet). `off`: no one.
   */
  presence?: PresenceScope
  /**
   * The shortest time between two `telemetry` presence frames of one device: pushes in between are coalesced into
   * one frame carrying the latest record. Default 1000.
   */
  presenceTelemetryIntervalMs?: number
  /** Extensions (logging, metrics...) attached to every connection; more with `use()`. */
  extensions?: readonly Extension[]
  /** Deadline of `sendWithTimeout` / `receiveWithTimeout` when none is given. Default 120000. */
  defaultTimeoutMs?: number
  /** A pino-compatible logger. Default: silent. */
  logger?: Logger
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number
}

/** The options after validation, with every default filled in. */
export interface ResolvedServerOptions {
  readonly agent: Agent
  readonly token: string | null
  readonly clientKeys: ReadonlyMap<string, ClientKey>
  readonly allowedOrigins: ReadonlySet<string> | null
  readonly allowedHosts: ReadonlySet<string> | null
  readonly maxPayloadBytes: number
  readonly registrationTimeoutMs: number
  readonly commandTimeoutMs: number
  readonly pingIntervalMs: number
  readonly takeoverProbeMs: number
  readonly resumeWindowMs: number
  readonly maxSessionsPerAwayDevice: number
  readonly maxSessions: number
  readonly maxSessionsPerClient: number
  readonly maxSessionBytesPerClient: number
  readonly maxRequestBytes: number
  readonly dispatchTimeoutMs: number
  readonly maxDispatchesPerDevice: number
  readonly maxQueuedFrames: number
  readonly maxOutboundBytes: number
  readonly agentName: string
  readonly registry: ClientRegistry
  readonly sessions: SessionStore
  readonly results: ResultStore
  readonly cluster: ClusterLink | null
  readonly logger: Logger
  readonly extensions: readonly Extension[]
  readonly drainRetryMs: number
  readonly drainReconnectSpreadMs: number
  readonly presence: PresenceScope
  readonly presenceTelemetryIntervalMs: number
  readonly defaultTimeoutMs: number
  readonly now: () => number
}

const NonEmpty = (): ReturnType<typeof Type.String> => Type.String({ minLength: 1, expected: 'a non-empty string' })

/** A positive integer count (bytes, frames, sessions...) with its default. */
const Count = (fallback: number): ReturnType<typeof Type.Integer> =>
  Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, default: fallback, expected: 'a positive integer' })

/** An object with these methods (a store given by the caller). */
const StoreOption = <T>(methods: readonly string[]): ReturnType<typeof CheckedOption<T>> =>
  CheckedOption<T>(`an object with ${methods.join(', ')}`, (value) => {
    const object = value as Record<string, unknown> | null
    return typeof object === 'object' && object !== null && methods.every((method) => typeof object[method] === 'function')
  })

/**
 * The schema of {@link DeviceServerOptions}, with the defaults. `clientKeys` entries are checked one by one after it
 * (their form depends on the role), so that the error names the client id.
 */
const DeviceServerOptionsSchema = Type.Object({
  agent: FunctionOption<Agent>({ default: planAgent }),
  token: Type.Union([Type.Null(), NonEmpty()], { default: null, expected: 'a non-empty string or null' }),
  clientKeys: Type.Record(Type.String(), Type.Unknown(), { default: {}, expected: 'an object of keys by client id' }),
  allowedOrigins: Type.Array(Type.String(), { default: [], expected: 'an array of strings' }),
  allowedHosts: Type.Union([Type.Null(), Type.Array(Type.String())], { default: null, expected: 'an array of strings or null' }),
  maxPayloadBytes: Count(DEFAULT_MAX_FRAME_BYTES),
  registrationTimeoutMs: Milliseconds({ min: 1, default: 10_000 }),
  commandTimeoutMs: Milliseconds({ min: 1, default: 120_000 }),
  pingIntervalMs: Milliseconds({ min: 0, default: 20_000 }),
  takeoverProbeMs: Milliseconds({ min: 1, default: 2_000 }),
  resumeWindowMs: Milliseconds({ min: 0, default: 30_000 }),
  maxSessionsPerAwayDevice: Count(64),
  maxSessions: Count(10_000),
  maxSessionsPerClient: Count(100),
  maxSessionBytesPerClient: Count(16 * 1024 * 1024),
  dispatchTimeoutMs: Milliseconds({ min: 1, default: 600_000 }),
  maxDispatchesPerDevice: Count(100),
  maxRequestBytes: Count(64 * 1024),
  maxQueuedFrames: Count(1_000),
  maxOutboundBytes: Count(16 * 1024 * 1024),
  maxResults: Count(10_000),
  resultTtlMs: Milliseconds({ min: 1, default: 3_600_000 }),
  maxResultBytes: Count(64 * 1024 * 1024),
  agentName: Type.String({ minLength: 1, default: 'HostAgent', expected: 'a non-empty string' }),
  registry: Type.Optional(StoreOption<ClientRegistry>(['add', 'get', 'remove', 'list'])),
  sessions: Type.Optional(StoreOption<SessionStore>(['add', 'get', 'delete', 'list'])),
  results: Type.Optional(StoreOption<ResultStore>(['put', 'getBySession', 'getByTaskName', 'clear'])),
  cluster: Type.Optional(StoreOption<ClusterLink>([
    'start', 'stop', 'claim', 'release', 'update', 'locate', 'listClients', 'follow', 'unfollow', 'send', 'sendToNode',
    'isNodeAlive', 'listNodes', 'putResult', 'getResult', 'getResultByTaskName'
  ])),
  extensions: Type.Array(Type.Unknown(), { default: [], expected: 'an array of extensions' }),
  drainRetryMs: Type.Integer({ minimum: 0, maximum: MAX_DRAIN_RETRY_MS, default: 5_000, expected: `an integer of milliseconds from 0 to ${MAX_DRAIN_RETRY_MS}` }),
  drainReconnectSpreadMs: Milliseconds({ min: 0, default: 1_000 }),
  presence: Type.Union([Type.Literal('scoped'), Type.Literal('all'), Type.Literal('off')], { default: 'scoped', expected: '"scoped", "all" or "off"' }),
  presenceTelemetryIntervalMs: Milliseconds({ min: 0, default: 1_000 }),
  defaultTimeoutMs: Milliseconds({ min: 1, default: 120_000 }),
  logger: LoggerOption(),
  now: FunctionOption<() => number>({ default: Date.now })
})

function fail (name: string, expected: string, value: unknown): never {
  throw new InvalidOptionError(name, expected, describeValue(value))
}

function clientKey (clientId: string, entry: unknown): ClientKey {
  const name = `clientKeys.${clientId}`
  if (typeof entry === 'string' || entry === null || typeof entry !== 'object') {
    if (typeof entry !== 'string' || entry === '') fail(name, 'a non-empty string or a key object', entry)
    return Object.freeze({ key: entry, clientType: 'device' as const, targets: null })
  }
  const { key, clientType = 'device', targets } = entry as ClientKeyOptions
  if (typeof key !== 'string' || key === '') fail(`${name}.key`, 'a non-empty string', key)
  if (clientType !== 'device' && clientType !== 'constellation') fail(`${name}.clientType`, '"device" or "constellation"', clientType)
  if (clientType === 'device') {
    if (targets !== undefined) fail(`${name}.targets`, 'no targets (only a constellation key has targets)', targets)
    return Object.freeze({ key, clientType, targets: null })
  }
  if (!Array.isArray(targets) || targets.length === 0 || !targets.every((id) => typeof id === 'string' && id !== '')) {
    fail(`${name}.targets`, 'a non-empty array of device ids (["*"] for any)', targets)
  }
  return Object.freeze({ key, clientType, targets: targets.includes('*') ? null : new Set(targets) })
}

/**
 * Validates the options once (a TypeBox schema, through `resolveOptions` of `@aip/resilience`) and fills in the
 * defaults. Throws `AIP_ERR_INVALID_OPTION` naming the option (`maxSessions`, `clientKeys.dev1.key`...).
 */
export function resolveOptions (options: DeviceServerOptions = {}): ResolvedServerOptions {
  const o = resolveSchema(DeviceServerOptionsSchema, options)
  const clientKeys = new Map<string, ClientKey>()
  for (const [clientId, entry] of Object.entries(o.clientKeys)) clientKeys.set(clientId, clientKey(clientId, entry))
  const now = o.now
  return Object.freeze({
    agent: o.agent,
    token: o.token,
    clientKeys,
    allowedOrigins: new Set(o.allowedOrigins),
    allowedHosts: o.allowedHosts === null ? null : new Set(o.allowedHosts.map((host) => host.toLowerCase())),
    maxPayloadBytes: o.maxPayloadBytes,
    registrationTimeoutMs: o.registrationTimeoutMs,
    commandTimeoutMs: o.commandTimeoutMs,
    pingIntervalMs: o.pingIntervalMs,
    takeoverProbeMs: o.takeoverProbeMs,
    resumeWindowMs: o.resumeWindowMs,
    maxSessionsPerAwayDevice: o.maxSessionsPerAwayDevice,
    maxSessions: o.maxSessions,
    maxSessionsPerClient: o.maxSessionsPerClient,
    maxSessionBytesPerClient: o.maxSessionBytesPerClient,
    dispatchTimeoutMs: o.dispatchTimeoutMs,
    maxDispatchesPerDevice: o.maxDispatchesPerDevice,
    maxRequestBytes: o.maxRequestBytes,
    maxQueuedFrames: o.maxQueuedFrames,
    maxOutboundBytes: o.maxOutboundBytes,
    agentName: o.agentName,
    registry: o.registry ?? new InMemoryClientRegistry(),
    sessions: o.sessions ?? new InMemorySessionStore(),
    results: o.results ?? new InMemoryResultStore({ maxRecords: o.maxResults, ttlMs: o.resultTtlMs, maxBytes: o.maxResultBytes, now }),
    cluster: o.cluster ?? null,
    logger: o.logger,
    extensions: [...o.extensions] as Extension[],
    drainRetryMs: o.drainRetryMs,
    drainReconnectSpreadMs: o.drainReconnectSpreadMs,
    presence: o.presence,
    presenceTelemetryIntervalMs: o.presenceTelemetryIntervalMs,
    defaultTimeoutMs: o.defaultTimeoutMs,
    now
  })
}
