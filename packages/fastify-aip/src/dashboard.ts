import { readFileSync } from 'node:fs'
import type { ServerResponse } from 'node:http'
import type { ClientRecord, TaskRecord } from '@aip/device-server'
import { safeEqual } from '@aip/device-server/internal'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { SessionCookie, keyGuard, presentedKey } from './access.js'
import { limitedGuard, type AuthFailureLimiter } from './auth-limiter.js'
import type { AipDeviceServer } from './endpoint.js'
import { InvalidOptionError, describeValue, resolveOptions as resolveSchema } from '@aip/resilience'
import { Type } from '@sinclair/typebox'
import { InvalidApiKeyError } from './errors.js'

/** Options of the dashboard page (`dashboard: true` takes every default). */
export interface AipDashboardOptions {
  /** Where the page is served. Default `/aip`. */
  path?: string
  /** Finished tasks the page lists. Default 50. */
  recentTasks?: number
  /** Errors the page lists. Default 50. */
  recentErrors?: number
  /** How often open pages get a fresh picture even when nothing happened (last heartbeat, durations). Default 5000 ms. */
  refreshMs?: number
}

/** The dashboard options after validation. */
export interface ResolvedDashboardOptions {
  readonly path: string
  readonly recentTasks: number
  readonly recentErrors: number
  readonly refreshMs: number
}

const Count = (fallback: number, min: number): ReturnType<typeof Type.Integer> =>
  Type.Integer({ minimum: min, default: fallback, expected: `an integer of at least ${min}` })

/** The schema of {@link AipDashboardOptions}, with the defaults. */
const DashboardOptionsSchema = Type.Object({
  path: Type.String({
    pattern: '^/([A-Za-z0-9._~\\-/]*[A-Za-z0-9._~\\-])?$',
    default: '/aip',
    expected: 'a path that starts with "/" and does not end with one (letters, digits, ._~-/)'
  }),
  recentTasks: Count(50, 0),
  recentErrors: Count(50, 0),
  refreshMs: Count(5000, 100)
})

/** Validates the `dashboard` option: `null` when the page is off. Throws `AIP_ERR_INVALID_OPTION`. */
export function resolveDashboardOptions (value: unknown): ResolvedDashboardOptions | null {
  if (value === undefined || value === false) return null
  if (value !== true && (typeof value !== 'object' || value === null || Array.isArray(value))) {
    throw new InvalidOptionError('dashboard', 'a boolean or an object', describeValue(value))
  }
  const o = resolveSchema(DashboardOptionsSchema, value === true ? {} : value, 'dashboard')
  return Object.freeze({ path: o.path, recentTasks: o.recentTasks, recentErrors: o.recentErrors, refreshMs: o.refreshMs })
}

/** What the page shows of a device. */
export interface DashboardDevice {
  readonly id: string
  readonly platform: string | null
  /**
   * `away` while its connection is down inside its resume window (its tasks wait for it), else `busy` while it runs
   * a task, else `idle`.
   */
  readonly state: 'idle' | 'busy' | 'away'
  readonly connectedSince: number
  readonly lastSeenAt: number | null
  readonly runningTasks: number
  readonly queuedTasks: number
  /** A few facts of its `system_info`, as strings. */
  readonly telemetry: Record<string, string>
}

/** The picture of the fleet each page receives (`GET <path>/state`, and the `snapshot` events). */
export interface DashboardSnapshot {
  readonly now: number
  readonly server: { connections: number, sessions: number, pendingDispatches: number, queuedFrames: number, draining: boolean }
  readonly devices: DashboardDevice[]
  readonly constellations: Array<{ id: string, targetId: string | null, connectedSince: number }>
  readonly sessions: Array<{ sessionId: string, taskName: string, deviceId: string, requesterId: string, startedAt: number, steps: number }>
  readonly recentTasks: Array<{ sessionId: string, taskName: string, deviceId: string, status: string, error: string | null, startedAt: number, endedAt: number }>
  readonly errors: Array<{ at: number, kind: string, detail: string }>
}

const TELEMETRY_KEYS = ['os_version', 'hostname', 'cpu_count', 'memory_total_gb', 'memory_percent', 'load_average', 'gpu'] as const

function telemetryOf (record: ClientRecord): Record<string, string> {
  const info = record.systemInfo as Record<string, unknown> | null
  const out: Record<string, string> = {}
  if (info === null || typeof info !== 'object') return out
  for (const key of TELEMETRY_KEYS) {
    const value = info[key]
    if (typeof value === 'string' || typeof value === 'number') out[key] = String(value).slice(0, 120)
  }
  return out
}

/** Keeps at most `limit` items, newest first. */
function pushBounded<T> (list: T[], item: T, limit: number): void {
  list.unshift(item)
  if (list.length > limit) list.length = limit
}

const ASSETS: Record<string, string> = {
  'app.js': 'text/javascript; charset=utf-8',
  'login.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8'
}

const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store'
}

function escapeHtml (text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

/** The folder of the page's files, shipped in the package beside `dist` and `src`. */
const ASSET_DIR = new URL('../dashboard/', import.meta.url)

/** Where the dashboard is served from. */
export interface DashboardSource {
  readonly fastify: FastifyInstance
  readonly endpoint: AipDeviceServer
  readonly apiKey: string
  /** Counts refused keys and logins; an address it refuses gets 429 on every guarded route. `null`: no limit. */
  readonly authLimiter?: AuthFailureLimiter | null
}

/**
 * The live dashboard: a page (static files, no build step, no CDN) behind the API key, a JSON picture of the
 * fleet at `<path>/state`, and server-sent events at `<path>/events` that push a fresh picture when something
 * happens (at most every 100 ms) and every `refreshMs`. A person logs in once with the key; the browser then
 * holds an HttpOnly cookie that is not the key. Returns the function that detaches every listener.
 */
export function installDashboard (source: DashboardSource, options: ResolvedDashboardOptions): () => void {
  const { fastify, endpoint, apiKey } = source
  const limiter = source.authLimiter ?? null
  const base = options.path === '/' ? '' : options.path
  const cookie = new SessionCookie('aip_dashboard', apiKey)
  const guard = keyGuard(apiKey, cookie, limiter)
  // The page and the login check a key themselves: an address refused by the limiter gets 429 before that.
  const limitGuard = limitedGuard(limiter)
  const read = (file: string): string => readFileSync(new URL(file, ASSET_DIR), 'utf8')
  const page = (file: string): string => read(file).replaceAll('%BASE%', escapeHtml(base))
  const indexHtml = page('index.html')
  const loginHtml = page('login.html')
  const assets = new Map(Object.keys(ASSETS).map((file) => [file, read(file)]))

  const recentTasks: DashboardSnapshot['recentTasks'] = []
  const errors: DashboardSnapshot['errors'] = []
  const steps = new Map<string, number>()
  const streams = new Set<ServerResponse>()
  const error = (kind: string, detail: string): void => pushBounded(errors, { at: Date.now(), kind, detail }, options.recentErrors)

  const snapshot = (): DashboardSnapshot => {
    const running = endpoint.sessions.list()
    const devices: DashboardDevice[] = []
    const constellations: DashboardSnapshot['constellations'] = []
    for (const record of endpoint.listClients()) {
      if (record.clientType !== 'device') {
        constellations.push({ id: record.clientId, targetId: record.targetId, connectedSince: record.registeredAt })
        continue
      }
      const activity = endpoint.clientActivity(record.clientId)
      const runningTasks = running.filter((session) => session.deviceId === record.clientId).length
      devices.push({
        id: record.clientId,
        platform: record.platform,
        state: activity?.away === true ? 'away' : runningTasks > 0 ? 'busy' : 'idle',
        connectedSince: record.registeredAt,
        lastSeenAt: activity?.lastSeenAt ?? null,
        runningTasks,
        queuedTasks: activity?.pendingTasks ?? 0,
        telemetry: telemetryOf(record)
      })
    }
    const { connections, sessions, pendingDispatches, queuedFrames, draining } = endpoint.stats()
    return {
      now: Date.now(),
      server: { connections, sessions, pendingDispatches, queuedFrames, draining },
      devices,
      constellations,
      sessions: running.map((session) => ({ ...session, steps: steps.get(session.sessionId) ?? 0 })),
      recentTasks,
      errors
    }
  }

  const push = (): void => {
    if (streams.size === 0) return
    const frame = `event: snapshot\ndata: ${JSON.stringify(snapshot())}\n\n`
    for (const stream of streams) stream.write(frame)
  }
  // Bursts (a hundred devices reconnecting) become one picture per 100 ms.
  let scheduled: NodeJS.Timeout | null = null
  const changed = (): void => {
    if (scheduled !== null || streams.size === 0) return
    scheduled = setTimeout(() => { scheduled = null; push() }, 100)
    scheduled.unref()
  }
  let refresher: NodeJS.Timeout | null = null

  const onTaskEnd = (record: TaskRecord): void => {
    steps.delete(record.sessionId)
    const { sessionId, taskName, deviceId, status, error: text, startedAt, endedAt } = record
    pushBounded(recentTasks, { sessionId, taskName, deviceId, status, error: text, startedAt, endedAt }, options.recentTasks)
    if (status === 'failed') error('task failed', `${taskName} on ${deviceId}: ${text ?? 'failed'}`)
    changed()
  }
  const disposers = [
    endpoint.on('clientRegistered', changed),
    endpoint.on('clientTelemetry', changed),
    endpoint.on('clientAway', changed),
    endpoint.on('clientResumed', changed),
    endpoint.on('clientDisconnected', (info) => {
      if (info.code !== 1000 && info.code !== 1001) error('disconnected', `${info.clientType} ${info.clientId} closed with ${info.code}${info.reason === '' ? '' : ` (${info.reason})`}`)
      changed()
    }),
    endpoint.on('sessionStarted', changed),
    endpoint.on('taskEnd', onTaskEnd),
    endpoint.on('commandEnd', (event) => {
      steps.set(event.sessionId, (steps.get(event.sessionId) ?? 0) + 1)
      if (event.status === 'timeout') error('command timeout', `a command of ${event.sessionId} on ${event.deviceId} got no results`)
      changed()
    }),
    endpoint.on('registrationRefused', (event) => { error('registration refused', event.reason); changed() }),
    endpoint.on('frameRejected', (event) => { error('frame refused', event.code); changed() })
  ]

  const html = (reply: FastifyReply, body: string): string => {
    reply.headers(SECURITY_HEADERS).type('text/html; charset=utf-8')
    return body
  }
  // A wrong key shows the login form, and counts as a failure: the page must not answer guesses the API refuses.
  const authenticated = (request: FastifyRequest): boolean => {
    const key = presentedKey(request)
    if (key === undefined) return cookie.valid(request)
    if (safeEqual(key, apiKey)) return true
    limiter?.fail(request.ip)
    return false
  }
  const secure = (request: FastifyRequest): boolean => request.protocol === 'https'

  fastify.get(options.path, { onRequest: limitGuard, logLevel: 'warn' }, async (request, reply) => html(reply, authenticated(request) ? indexHtml : loginHtml))

  fastify.get<{ Params: { file: string } }>(`${base}/assets/:file`, { logLevel: 'warn' }, async (request, reply) => {
    const body = assets.get(request.params.file)
    const type = ASSETS[request.params.file]
    if (body === undefined || type === undefined) return await reply.code(404).send({ statusCode: 404, error: 'Not Found', message: 'No such asset' })
    reply.headers(SECURITY_HEADERS).header('cache-control', 'no-cache').type(type)
    return body
  })

  fastify.post<{ Body: { key?: unknown } }>(`${base}/login`, { onRequest: limitGuard, logLevel: 'warn' }, async (request, reply) => {
    const key = request.body?.key
    if (typeof key !== 'string' || !safeEqual(key, apiKey)) {
      limiter?.fail(request.ip)
      request.log.warn({ remoteAddress: request.ip }, 'dashboard login refused')
      throw new InvalidApiKeyError()
    }
    reply.header('set-cookie', cookie.header(options.path, secure(request)))
    return { status: 'ok' }
  })

  fastify.post(`${base}/logout`, { logLevel: 'warn' }, async (_request, reply) => {
    reply.header('set-cookie', cookie.clear(options.path))
    return { status: 'ok' }
  })

  fastify.get(`${base}/state`, { onRequest: guard, logLevel: 'warn' }, async (_request, reply) => {
    reply.header('cache-control', 'no-store')
    return snapshot()
  })

  fastify.get(`${base}/events`, { onRequest: guard, logLevel: 'warn' }, (request, reply) => {
    reply.hijack()
    const stream = reply.raw
    stream.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' })
    stream.write(`retry: 2000\nevent: snapshot\ndata: ${JSON.stringify(snapshot())}\n\n`)
    streams.add(stream)
    if (refresher === null) {
      refresher = setInterval(push, options.refreshMs)
      refresher.unref()
    }
    request.raw.on('close', () => {
      streams.delete(stream)
      if (streams.size === 0 && refresher !== null) {
        clearInterval(refresher)
        refresher = null
      }
    })
  })

  // Event streams never go idle: end them before the server waits for its connections to close.
  fastify.addHook('preClose', (done) => {
    for (const stream of streams) stream.end()
    streams.clear()
    done()
  })

  return () => {
    for (const dispose of disposers.splice(0)) dispose()
    if (scheduled !== null) clearTimeout(scheduled)
    if (refresher !== null) clearInterval(refresher)
    scheduled = null
    refresher = null
  }
}
