import type { ClientRecord, DeviceServerEvents, DeviceServerOptions, TaskRecord } from '@aip/device-server'
import { FunctionOption, InvalidOptionError, Milliseconds, describeValue, resolveOptions as resolveSchema } from '@aip/resilience'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { resolveDashboardOptions, type AipDashboardOptions, type ResolvedDashboardOptions } from './dashboard.js'
import type { UpgradeMode } from './upgrade.js'
import { resolveMetricsOptions, type AipMetricsOptions, type ResolvedMetricsOptions } from './metrics.js'

/** What {@link AipOptions.onDeviceDisconnected} receives. */
export type DeviceDisconnectedInfo = DeviceServerEvents['clientDisconnected']

/** A hook may be sync or async; what it throws or rejects with is logged, never thrown at the caller. */
export type AipHook<T> = (payload: T, fastify: FastifyInstance) => void | Promise<void>

/**
 * Options of the plugin: every {@link DeviceServerOptions} option (passed to the endpoint as is), plus the
 * route, HTTP API and hook options below. Times are in milliseconds.
 */
export interface AipOptions extends DeviceServerOptions {
  /** WebSocket route. Default `/ws`. */
  path?: string
  /** Prefix of the HTTP API. Default `/api`. */
  prefix?: string
  /**
   * Key of the `X-API-Key` header the HTTP API requires. Without it, the HTTP API (all but the liveness route)
   * is not registered.
   */
  apiKey?: string
  /** `false` registers no HTTP route at all, liveness included. Default `true`. */
  http?: boolean
  /** Path of the unauthenticated liveness route, or `false` for none. Default `${prefix}/live`. */
  liveness?: string | false
  /** How long `preClose` waits for running tasks and sockets before it terminates what is left. Default 10000. */
  closeTimeoutMs?: number
  /**
   * Time a new connection has to send complete request headers (a WebSocket upgrade included); one that does not is
   * closed. Also set as the app's HTTP server `headersTimeout`. Default 10000; `null` for neither.
   */
  headersTimeoutMs?: number | null
  /** Connections the app's HTTP server holds at most (`maxConnections`); more are closed at once. Default 10000; `null` leaves the server's own setting. */
  maxConnections?: number | null
  /** Connections one remote address may hold at once; more are closed at once. Default 1000; `0` for no limit. */
  maxConnectionsPerAddress?: number
  /**
   * Failed authentications one address may make in a window (API key, dashboard login, WebSocket upgrade) before
   * every attempt from it is refused with 429 until the window ends. Default
   * `{ maxFailures: 20, windowMs: 60000, maxTrackedAddresses: 10000 }`; `false` for no limit.
   */
  authFailureLimit?: boolean | AuthFailureLimitOptions
  /** Called when a device registered (after its HEARTBEAT ok). */
  onDeviceRegistered?: AipHook<ClientRecord>
  /** Called when a registered device's connection closed (its sessions are already cancelled). */
  onDeviceDisconnected?: AipHook<DeviceDisconnectedInfo>
  /** Called when a task ended (its TASK_END sent, its record kept). */
  onTaskEnd?: AipHook<TaskRecord>
  /** Prometheus metrics at `/metrics`, behind the API key (`apiKey` is required). Default `false`. */
  metrics?: boolean | AipMetricsOptions
  /** The live fleet page at `/aip`, behind the API key (`apiKey` is required). Default `false`. */
  dashboard?: boolean | AipDashboardOptions
  /**
   * Run this server as one node of a cluster on Redis: the plugin builds a `RedisCluster` of `@aip/redis` with these
   * options and gives it to the endpoint as its `cluster` (which the endpoint starts when the app is ready, and
   * stops on close). Give `redis` or `cluster`, not both. Default: none (a single node).
   */
  redis?: AipRedisOptions
  /**
   * How a WebSocket upgrade on `path` is served. Default `'route'`.
   *
   * - `'route'`: as a Fastify route. Every hook of the app runs for it (`onRequest`, `preValidation`..., e.g. an IP
   *   allow-list or `@fastify/rate-limit`), Fastify logs the request, and the app's error handler answers errors.
   * - `'direct'`: the plugin takes the upgrade from the HTTP server's `'upgrade'` event before Fastify routes it
   *   (no Fastify request, reply or hook for it: less CPU per connection). **The app's hooks, request logging,
   *   `rewriteUrl` and error handler do not run for it.** What still applies: the token, client keys, origin and
   *   host checks (the same 401/403 answers and `websocket upgrade refused` warning), `authFailureLimit` (the same
   *   429 with `Retry-After`), `maxConnections`, `maxConnectionsPerAddress`, `headersTimeoutMs`, `maxPayloadBytes`
   *   and everything the endpoint enforces. Upgrades the fast path does not take go through the route as in
   *   `'route'` mode: other methods than GET, a path the router would only match after decoding (`%`-escapes),
   *   and requests with `X-Forwarded-For` (only Fastify's `trustProxy` can tell their address). Upgrades of the
   *   app's other paths are routed by Fastify as before. Requires that the plugin registers `@fastify/websocket`
   *   itself: with it registered before the plugin, `'direct'` throws `AIP_ERR_INVALID_OPTION`.
   */
  upgrade?: UpgradeMode
}

/** The `redis` option: where the cluster's Redis is and who this node is. */
export interface AipRedisOptions {
  /**
   * The Redis URL, `redis://` or `rediss://` (TLS), with the password in it when Redis wants one
   * (`redis://:secret@host:6379/0`); it is never logged with its password. Required.
   */
  url: string
  /** Prefix of every key, so that several clusters share one Redis. Default `aip:`. */
  keyPrefix?: string
  /** This node's id, unique in the cluster. Default: a random one per process. */
  nodeId?: string
  /** A node that stops renewing its lease for this long is lost (its tasks end on the other nodes). Default 10000 ms. */
  nodeLeaseMs?: number
}

/** Options of the failed-authentication limit (`authFailureLimit: true` takes every default). */
export interface AuthFailureLimitOptions {
  /** Failed authentications an address may make in one window; the next attempt is refused. Default 20. */
  maxFailures?: number
  /** Length of the window, from an address's first failure. Default 60000 ms. */
  windowMs?: number
  /** Addresses tracked at most; past it the oldest window is forgotten. Default 10000. */
  maxTrackedAddresses?: number
  /** The clock, in milliseconds (only differences matter). Default `performance.now` (monotonic). */
  now?: () => number
}

/** The failed-authentication limit after validation. */
export interface ResolvedAuthFailureLimit {
  readonly maxFailures: number
  readonly windowMs: number
  readonly maxTrackedAddresses: number
  readonly now: () => number
}

/** The plugin's own options after validation. */
export interface ResolvedPluginOptions {
  readonly path: string
  readonly prefix: string
  readonly apiKey: string | null
  readonly http: boolean
  readonly liveness: string | null
  readonly closeTimeoutMs: number
  readonly headersTimeoutMs: number | null
  readonly maxConnections: number | null
  readonly maxConnectionsPerAddress: number
  /** `null` when failed authentications are not limited. */
  readonly authFailureLimit: ResolvedAuthFailureLimit | null
  readonly onDeviceRegistered: AipHook<ClientRecord> | null
  readonly onDeviceDisconnected: AipHook<DeviceDisconnectedInfo> | null
  readonly onTaskEnd: AipHook<TaskRecord> | null
  readonly metrics: ResolvedMetricsOptions | null
  readonly dashboard: ResolvedDashboardOptions | null
  /** The `redis` option, checked: `null` without one. */
  readonly redis: Readonly<AipRedisOptions> | null
  /** How WebSocket upgrades on `path` are served. */
  readonly upgrade: UpgradeMode
}

const PLUGIN_KEYS = new Set([
  'path', 'prefix', 'apiKey', 'http', 'liveness', 'closeTimeoutMs', 'onDeviceRegistered', 'onDeviceDisconnected', 'onTaskEnd',
  'headersTimeoutMs', 'maxConnections', 'maxConnectionsPerAddress', 'metrics', 'dashboard',
  'authFailureLimit', 'redis', 'upgrade'
])

/** A route path: starts with `/`, no spaces, query or fragment. */
const RoutePath = (fallback: string): ReturnType<typeof Type.String> =>
  Type.String({ pattern: '^/[^\\s?#]*$', default: fallback, expected: 'a path that starts with "/" (no spaces, query or fragment)' })

/** A positive integer, or `null` (leave the server's own setting). */
const Limit = (fallback: number): ReturnType<typeof Type.Union> =>
  Type.Union([Type.Null(), Type.Integer({ minimum: 1 })], { default: fallback, expected: 'a positive integer or null' })

const Hook = (): ReturnType<typeof Type.Optional> => Type.Optional(Type.Union([Type.Null(), FunctionOption()], { expected: 'a function' }))

/**
 * The schema of the plugin's own options (the endpoint's are the endpoint's), with the defaults. `liveness`
 * defaults from `prefix`; `metrics` and `dashboard` are resolved by their own schemas.
 */
const PluginOptionsSchema = Type.Object({
  path: RoutePath('/ws'),
  prefix: RoutePath('/api'),
  apiKey: Type.Union([Type.Null(), Type.String({ minLength: 1 })], { default: null, expected: 'a non-empty string' }),
  http: Type.Boolean({ default: true }),
  liveness: Type.Optional(Type.Union([Type.Literal(false), Type.String({ pattern: '^/[^\\s?#]*$' })], {
    expected: 'a path that starts with "/" (no spaces, query or fragment), or false'
  })),
  closeTimeoutMs: Milliseconds({ min: 1, default: 10_000 }),
  headersTimeoutMs: Limit(10_000),
  maxConnections: Limit(10_000),
  maxConnectionsPerAddress: Type.Integer({ minimum: 0, default: 1_000, expected: 'a non-negative integer' }),
  onDeviceRegistered: Hook(),
  onDeviceDisconnected: Hook(),
  onTaskEnd: Hook(),
  upgrade: Type.Union([Type.Literal('route'), Type.Literal('direct')], { default: 'route', expected: "'route' or 'direct'" })
})

/** The schema of {@link AuthFailureLimitOptions}, with the defaults. */
const AuthFailureLimitSchema = Type.Object({
  maxFailures: Type.Integer({ minimum: 1, default: 20, expected: 'a positive integer' }),
  windowMs: Milliseconds({ min: 1, default: 60_000 }),
  maxTrackedAddresses: Type.Integer({ minimum: 1, default: 10_000, expected: 'a positive integer' }),
  now: FunctionOption<() => number>({ default: () => performance.now() })
}, { additionalProperties: false })

/** Validates the `authFailureLimit` option: `null` when failures are not limited. Throws `AIP_ERR_INVALID_OPTION`. */
export function resolveAuthFailureLimit (value: unknown): ResolvedAuthFailureLimit | null {
  if (value === false) return null
  if (value !== undefined && value !== true && (typeof value !== 'object' || value === null || Array.isArray(value))) {
    throw new InvalidOptionError('authFailureLimit', 'false, true or an object', describeValue(value))
  }
  const o = resolveSchema(AuthFailureLimitSchema, value === undefined || value === true ? {} : value, 'authFailureLimit')
  return Object.freeze({ maxFailures: o.maxFailures, windowMs: o.windowMs, maxTrackedAddresses: o.maxTrackedAddresses, now: o.now })
}

/**
 * Validates the plugin's own options once (the endpoint validates the rest) and splits them from the endpoint
 * options. Throws `AIP_ERR_INVALID_OPTION`.
 */
export function resolvePluginOptions (options: AipOptions): { plugin: ResolvedPluginOptions, endpoint: DeviceServerOptions } {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new InvalidOptionError('options', 'an object', describeValue(options))
  const own: Record<string, unknown> = {}
  const endpoint: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(options)) {
    if (PLUGIN_KEYS.has(key)) own[key] = value
    else endpoint[key] = value
  }
  const o = resolveSchema(PluginOptionsSchema, own)
  const prefix = o.prefix.length > 1 ? o.prefix.replace(/\/+$/, '') : o.prefix
  const apiKey = o.apiKey
  const http = o.http
  const metrics = resolveMetricsOptions(options.metrics)
  if (metrics !== null && metrics.path !== null && (apiKey === null || !http)) throw new InvalidOptionError('metrics', 'apiKey and http (the metrics route needs them)', describeValue(options.metrics))
  const dashboard = resolveDashboardOptions(options.dashboard)
  if (dashboard !== null && (apiKey === null || !http)) throw new InvalidOptionError('dashboard', 'apiKey and http (the dashboard needs them)', describeValue(options.dashboard))
  const plugin: ResolvedPluginOptions = Object.freeze({
    path: o.path,
    prefix,
    apiKey,
    http,
    liveness: o.liveness === false ? null : o.liveness ?? `${prefix === '/' ? '' : prefix}/live`,
    closeTimeoutMs: o.closeTimeoutMs,
    headersTimeoutMs: o.headersTimeoutMs as number | null,
    maxConnections: o.maxConnections as number | null,
    maxConnectionsPerAddress: o.maxConnectionsPerAddress,
    authFailureLimit: resolveAuthFailureLimit(options.authFailureLimit),
    onDeviceRegistered: (o.onDeviceRegistered ?? null) as AipHook<ClientRecord> | null,
    onDeviceDisconnected: (o.onDeviceDisconnected ?? null) as AipHook<DeviceDisconnectedInfo> | null,
    onTaskEnd: (o.onTaskEnd ?? null) as AipHook<TaskRecord> | null,
    metrics,
    dashboard,
    redis: resolveRedisOptions(options),
    upgrade: o.upgrade as UpgradeMode
  })
  return { plugin, endpoint: endpoint as DeviceServerOptions }
}

/** Checks the `redis` option (`AIP_ERR_INVALID_OPTION`); the URL itself is never described: it may hold a password. */
function resolveRedisOptions (options: AipOptions): Readonly<AipRedisOptions> | null {
  const value: unknown = options.redis
  if (value === undefined || value === null) return null
  if (typeof value !== 'object' || Array.isArray(value)) throw new InvalidOptionError('redis', 'an object with a url', describeValue(value))
  if (options.cluster !== undefined) throw new InvalidOptionError('redis', 'undefined when cluster is given', 'an object')
  const { url, keyPrefix, nodeId, nodeLeaseMs } = value as Record<string, unknown>
  let parsed: URL | undefined
  try { parsed = typeof url === 'string' ? new URL(url) : undefined } catch {}
  if (parsed === undefined || (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')) {
    throw new InvalidOptionError('redis.url', 'a redis:// or rediss:// URL', typeof url === 'string' ? 'another URL' : describeValue(url))
  }
  if (keyPrefix !== undefined && (typeof keyPrefix !== 'string' || keyPrefix === '')) throw new InvalidOptionError('redis.keyPrefix', 'a non-empty string', describeValue(keyPrefix))
  if (nodeId !== undefined && (typeof nodeId !== 'string' || nodeId === '')) throw new InvalidOptionError('redis.nodeId', 'a non-empty string', describeValue(nodeId))
  if (nodeLeaseMs !== undefined && (typeof nodeLeaseMs !== 'number' || !Number.isInteger(nodeLeaseMs) || nodeLeaseMs < 30)) {
    throw new InvalidOptionError('redis.nodeLeaseMs', 'an integer number of ms >= 30', describeValue(nodeLeaseMs))
  }
  return Object.freeze({
    url: url as string,
    ...(keyPrefix === undefined ? {} : { keyPrefix: keyPrefix as string }),
    ...(nodeId === undefined ? {} : { nodeId: nodeId as string }),
    ...(nodeLeaseMs === undefined ? {} : { nodeLeaseMs: nodeLeaseMs as number })
  })
}
