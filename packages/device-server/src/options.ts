import { silentLogger, type Extension, type Logger } from '@aip/endpoint'
import { DEFAULT_MAX_FRAME_BYTES, type ClientType } from '@aip/protocol'
import { planAgent, type Agent } from './agent.js'
import type { ClientKey } from './auth.js'
import { InvalidOptionError } from './errors.js'
import { InMemoryClientRegistry, type ClientRegistry } from './registry.js'
import { InMemoryResultStore, type ResultStore } from './results.js'
import { InMemorySessionStore, type SessionStore } from './sessions.js'

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
  readonly logger: Logger
  readonly extensions: readonly Extension[]
  readonly defaultTimeoutMs: number
  readonly now: () => number
}

function count (name: string, value: number | undefined, fallback: number, { min = 0, allowZero = true } = {}): number {
  const resolved = value ?? fallback
  if (typeof resolved !== 'number' || !Number.isFinite(resolved) || !Number.isInteger(resolved) || resolved < min || (!allowZero && resolved === 0)) {
    throw new InvalidOptionError(name, `expected ${allowZero ? 'a non-negative' : 'a positive'} integer, got ${String(value)}`)
  }
  return resolved
}

function secret (name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw new InvalidOptionError(name, 'expected a non-empty string')
  return value
}

function clientKey (clientId: string, entry: unknown): ClientKey {
  const name = `clientKeys.${clientId}`
  if (typeof entry === 'string' || entry === null || typeof entry !== 'object') {
    return Object.freeze({ key: secret(name, entry), clientType: 'device' as const, targets: null })
  }
  const { key, clientType = 'device', targets } = entry as ClientKeyOptions
  if (clientType !== 'device' && clientType !== 'constellation') throw new InvalidOptionError(`${name}.clientType`, 'expected "device" or "constellation"')
  if (clientType === 'device') {
    if (targets !== undefined) throw new InvalidOptionError(`${name}.targets`, 'only a constellation key has targets')
    return Object.freeze({ key: secret(`${name}.key`, key), clientType, targets: null })
  }
  if (!Array.isArray(targets) || targets.length === 0 || !targets.every((id) => typeof id === 'string' && id !== '')) {
    throw new InvalidOptionError(`${name}.targets`, 'expected a non-empty array of device ids (["*"] for any)')
  }
  return Object.freeze({ key: secret(`${name}.key`, key), clientType, targets: targets.includes('*') ? null : new Set(targets) })
}

/** `value` when it is an object with these methods, `undefined` when it is `undefined`. */
function store<T> (name: string, value: T | undefined, methods: readonly string[]): T | undefined {
  if (value === undefined) return undefined
  const object = value as Record<string, unknown> | null
  if (object === null || typeof object !== 'object' || !methods.every((method) => typeof object[method] === 'function')) {
    throw new InvalidOptionError(name, `expected an object with ${methods.join(', ')}`)
  }
  return value
}

/** Validates the options once and fills in the defaults. Throws `AIP_ERR_SERVER_INVALID_OPTION`. */
export function resolveOptions (options: DeviceServerOptions = {}): ResolvedServerOptions {
  if (options.agent !== undefined && typeof options.agent !== 'function') throw new InvalidOptionError('agent', 'expected a function')
  const token = options.token == null ? null : secret('token', options.token)
  const clientKeys = new Map<string, ClientKey>()
  for (const [clientId, entry] of Object.entries(options.clientKeys ?? {})) clientKeys.set(clientId, clientKey(clientId, entry))
  const maxResults = count('maxResults', options.maxResults, 10_000, { allowZero: false })
  const resultTtlMs = count('resultTtlMs', options.resultTtlMs, 3_600_000, { allowZero: false })
  const maxResultBytes = count('maxResultBytes', options.maxResultBytes, 64 * 1024 * 1024, { allowZero: false })
  const now = options.now ?? Date.now
  const agentName = options.agentName ?? 'HostAgent'
  if (typeof agentName !== 'string' || agentName === '') throw new InvalidOptionError('agentName', 'expected a non-empty string')
  return Object.freeze({
    agent: options.agent ?? planAgent,
    token,
    clientKeys,
    allowedOrigins: new Set(options.allowedOrigins ?? []),
    allowedHosts: options.allowedHosts == null ? null : new Set(options.allowedHosts.map((host) => host.toLowerCase())),
    maxPayloadBytes: count('maxPayloadBytes', options.maxPayloadBytes, DEFAULT_MAX_FRAME_BYTES, { allowZero: false }),
    registrationTimeoutMs: count('registrationTimeoutMs', options.registrationTimeoutMs, 10_000, { allowZero: false }),
    commandTimeoutMs: count('commandTimeoutMs', options.commandTimeoutMs, 120_000, { allowZero: false }),
    pingIntervalMs: count('pingIntervalMs', options.pingIntervalMs, 20_000),
    takeoverProbeMs: count('takeoverProbeMs', options.takeoverProbeMs, 2_000, { allowZero: false }),
    maxSessions: count('maxSessions', options.maxSessions, 10_000, { allowZero: false }),
    maxSessionsPerClient: count('maxSessionsPerClient', options.maxSessionsPerClient, 100, { allowZero: false }),
    maxSessionBytesPerClient: count('maxSessionBytesPerClient', options.maxSessionBytesPerClient, 16 * 1024 * 1024, { allowZero: false }),
    dispatchTimeoutMs: count('dispatchTimeoutMs', options.dispatchTimeoutMs, 600_000, { allowZero: false }),
    maxDispatchesPerDevice: count('maxDispatchesPerDevice', options.maxDispatchesPerDevice, 100, { allowZero: false }),
    maxRequestBytes: count('maxRequestBytes', options.maxRequestBytes, 64 * 1024, { allowZero: false }),
    maxQueuedFrames: count('maxQueuedFrames', options.maxQueuedFrames, 1_000, { allowZero: false }),
    maxOutboundBytes: count('maxOutboundBytes', options.maxOutboundBytes, 16 * 1024 * 1024, { allowZero: false }),
    agentName,
    registry: store('registry', options.registry, ['add', 'get', 'remove', 'list']) ?? new InMemoryClientRegistry(),
    sessions: store('sessions', options.sessions, ['add', 'get', 'delete', 'list']) ?? new InMemorySessionStore(),
    results: options.results ?? new InMemoryResultStore({ maxRecords: maxResults, ttlMs: resultTtlMs, maxBytes: maxResultBytes, now }),
    logger: options.logger ?? silentLogger,
    extensions: [...(options.extensions ?? [])],
    defaultTimeoutMs: count('defaultTimeoutMs', options.defaultTimeoutMs, 120_000, { allowZero: false }),
    now
  })
}
