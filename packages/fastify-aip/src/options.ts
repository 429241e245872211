import type { ClientRecord, DeviceServerEvents, DeviceServerOptions, TaskRecord } from '@aip/device-server'
import type { FastifyInstance } from 'fastify'
import { resolveDashboardOptions, type AipDashboardOptions, type ResolvedDashboardOptions } from './dashboard.js'
import { InvalidOptionError } from './errors.js'
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
  readonly onDeviceRegistered: AipHook<ClientRecord> | null
  readonly onDeviceDisconnected: AipHook<DeviceDisconnectedInfo> | null
  readonly onTaskEnd: AipHook<TaskRecord> | null
  readonly metrics: ResolvedMetricsOptions | null
  readonly dashboard: ResolvedDashboardOptions | null
}

const PLUGIN_KEYS = new Set([
  'path', 'prefix', 'apiKey', 'http', 'liveness', 'closeTimeoutMs', 'onDeviceRegistered', 'onDeviceDisconnected', 'onTaskEnd',
  'headersTimeoutMs', 'maxConnections', 'maxConnectionsPerAddress', 'metrics', 'dashboard'
])

function routePath (name: string, value: unknown, fallback: string): string {
  const resolved = value ?? fallback
  if (typeof resolved !== 'string' || !/^\/[^\s?#]*$/.test(resolved)) {
    throw new InvalidOptionError(name, 'expected a path that starts with "/" (no spaces, query or fragment)')
  }
  return resolved
}

function limit (name: string, value: unknown, fallback: number, { nullable = true, allowZero = false } = {}): number | null {
  if (value === null && nullable) return null
  const resolved = value === undefined ? fallback : value
  if (typeof resolved !== 'number' || !Number.isInteger(resolved) || resolved < 0 || (!allowZero && resolved === 0)) {
    throw new InvalidOptionError(name, `expected a ${allowZero ? 'non-negative' : 'positive'} integer${nullable ? ' or null' : ''}`)
  }
  return resolved
}

function hook<T> (name: string, value: unknown): AipHook<T> | null {
  if (value === undefined || value === null) return null
  if (typeof value !== 'function') throw new InvalidOptionError(name, 'expected a function')
  return value as AipHook<T>
}

/**
 * Validates the plugin's own options once (the endpoint validates the rest) and splits them from the endpoint
 * options. Throws `AIP_ERR_FASTIFY_INVALID_OPTION`.
 */
export function resolvePluginOptions (options: AipOptions): { plugin: ResolvedPluginOptions, endpoint: DeviceServerOptions } {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', 'expected an object')
  const path = routePath('path', options.path, '/ws')
  const rawPrefix = routePath('prefix', options.prefix, '/api')
  const prefix = rawPrefix.length > 1 ? rawPrefix.replace(/\/+$/, '') : rawPrefix
  const apiKey = options.apiKey ?? null
  if (apiKey !== null && (typeof apiKey !== 'string' || apiKey.length === 0)) throw new InvalidOptionError('apiKey', 'expected a non-empty string')
  const http = options.http ?? true
  if (typeof http !== 'boolean') throw new InvalidOptionError('http', 'expected a boolean')
  const liveness = options.liveness === false ? null : routePath('liveness', options.liveness, `${prefix === '/' ? '' : prefix}/live`)
  const closeTimeoutMs = options.closeTimeoutMs ?? 10_000
  if (typeof closeTimeoutMs !== 'number' || !Number.isInteger(closeTimeoutMs) || closeTimeoutMs <= 0) {
    throw new InvalidOptionError('closeTimeoutMs', 'expected a positive integer')
  }
  const metrics = resolveMetricsOptions(options.metrics)
  if (metrics !== null && metrics.path !== null && (apiKey === null || !http)) throw new InvalidOptionError('metrics', 'the metrics route needs apiKey and http')
  const dashboard = resolveDashboardOptions(options.dashboard)
  if (dashboard !== null && (apiKey === null || !http)) throw new InvalidOptionError('dashboard', 'the dashboard needs apiKey and http')
  const endpoint: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(options)) {
    if (!PLUGIN_KEYS.has(key)) endpoint[key] = value
  }
  const plugin: ResolvedPluginOptions = Object.freeze({
    path,
    prefix,
    apiKey,
    http,
    liveness,
    closeTimeoutMs,
    headersTimeoutMs: limit('headersTimeoutMs', options.headersTimeoutMs, 10_000),
    maxConnections: limit('maxConnections', options.maxConnections, 10_000),
    maxConnectionsPerAddress: limit('maxConnectionsPerAddress', options.maxConnectionsPerAddress, 1_000, { nullable: false, allowZero: true }) as number,
    onDeviceRegistered: hook<ClientRecord>('onDeviceRegistered', options.onDeviceRegistered),
    onDeviceDisconnected: hook<DeviceDisconnectedInfo>('onDeviceDisconnected', options.onDeviceDisconnected),
    onTaskEnd: hook<TaskRecord>('onTaskEnd', options.onTaskEnd),
    metrics,
    dashboard
  })
  return { plugin, endpoint: endpoint as DeviceServerOptions }
}
