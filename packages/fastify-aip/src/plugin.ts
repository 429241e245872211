import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { redactUrl, type Logger } from '@aip/endpoint'
import { RedisCluster } from '@aip/redis'
import type { AuthResult } from '@aip/device-server'
import websocket, { type WebSocket } from '@fastify/websocket'
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { AuthFailureLimiter, refuseLimited } from './auth-limiter.js'
import { limitConnections } from './connections.js'
import { AipDeviceServer } from './endpoint.js'
import { AlreadyRegisteredError, InvalidOptionError } from './errors.js'
import { resolvePluginOptions, type AipHook, type AipOptions, type ResolvedPluginOptions } from './options.js'
import { redactMistypedPaths, type RouterLeniency } from './redact.js'
import { installDashboard } from './dashboard.js'
import { installMetrics } from './metrics.js'
import { httpApi, livenessRoute } from './routes.js'
import { taskRoutes } from './task-routes.js'
import { closeAnsweredUpgrades } from './answered-upgrades.js'
import { installDirectUpgrade, mountedPaths, type DirectUpgradeOptions } from './upgrade.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The AIP device-agent server of this encapsulation context (see `fastify-aip`). */
    aip: AipDeviceServer
  }
}

/** Going away: the server is shutting down. */
const GOING_AWAY = 1001

/** The credentials decision of an upgrade request, from the route's preValidation to its handler. */
const kDecided = Symbol('fastify-aip.decided')
type DecidedRequest = IncomingMessage & { [kDecided]?: AuthResult | undefined }

function redactedRequest (request: FastifyRequest): Record<string, unknown> {
  return {
    method: request.method,
    url: redactUrl(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort
  }
}

function createEndpoint (options: ConstructorParameters<typeof AipDeviceServer>[0]): AipDeviceServer {
  try {
    return new AipDeviceServer(options)
  } catch (err) {
    // The endpoint's options throw the shared AIP_ERR_INVALID_OPTION already: it goes to the caller as is.
    if (err instanceof InvalidOptionError) throw err
    throw new InvalidOptionError('options', 'options the endpoint accepts', err instanceof Error ? err.message : String(err), { cause: err })
  }
}

/**
 * Once the socket is upgraded nothing needs the HTTP request and response again, but two references would keep
 * them (IncomingMessage, ServerResponse, Fastify's Request and Reply, the headers: about 4 KB) alive as long as
 * the WebSocket: the net socket's `_httpMessage` (the ServerResponse, which holds the request), and the 'error'
 * listener @fastify/websocket adds, a closure over request and reply. The first is detached, as Node does when
 * a response ends. The second is replaced, only when this plugin registered @fastify/websocket (so its
 * errorHandler is the default one), by `onSocketError`, one listener shared by every socket doing what that
 * default does (log the error, then `socket.terminate()`), with the plugin's logger: no closure per socket.
 */
function releaseUpgrade (socket: WebSocket, request: FastifyRequest, ownWebsocket: boolean, onSocketError: (this: WebSocket, error: Error) => void): void {
  const net = request.raw.socket as (Socket & { _httpMessage?: ServerResponse | null }) | null
  const response = net?._httpMessage
  if (net != null && response != null && response.req === request.raw) response.detachSocket(net)
  if (ownWebsocket && socket.listenerCount('error') === 1) {
    socket.removeAllListeners('error')
    socket.on('error', onSocketError)
  }
}

/**
 * Takes `socket` out of the `ws` server's client tracking: the endpoint owns it (see the route's handler). `ws`
 * added the socket to `clients` and, first of the socket's 'close' listeners (before its 'connection' event and
 * this route's handler), a closure deleting it from there again; both go, so that a routed connection holds no
 * closure of `ws`'s server, and its close cannot tell a closing server that its clients are gone.
 */
function untrack (server: FastifyInstance['websocketServer'], socket: WebSocket): void {
  if (server.clients?.delete(socket) !== true) return
  const [tracker] = socket.rawListeners('close')
  if (tracker !== undefined) socket.removeListener('close', tracker as (...args: unknown[]) => void)
}

/**
 * The one 'upgrade' listener registering @fastify/websocket added (its router of upgrades through Fastify).
 * Throws when there is not exactly one: the 'direct' path would not know which listener to stand in for.
 */
function addedListener (before: ReadonlySet<unknown>, after: ReadonlyArray<unknown>): DirectUpgradeOptions['routeUpgrade'] {
  const added = after.filter((listener) => !before.has(listener))
  if (added.length !== 1 || typeof added[0] !== 'function') {
    throw new Error(`fastify-aip: @fastify/websocket added ${added.length} 'upgrade' listeners, expected one (upgrade: 'direct' cannot take over)`)
  }
  return added[0] as DirectUpgradeOptions['routeUpgrade']
}

/** The router options that decide which paths reach the WebSocket route (Fastify 5 keeps them in `routerOptions`). */
function routerLeniency (config: FastifyInstance['initialConfig']): RouterLeniency {
  const router = (config as { routerOptions?: Partial<RouterLeniency> }).routerOptions ?? {}
  const flat = config as Partial<RouterLeniency>
  return {
    ignoreTrailingSlash: router.ignoreTrailingSlash ?? flat.ignoreTrailingSlash ?? false,
    ignoreDuplicateSlashes: router.ignoreDuplicateSlashes ?? flat.ignoreDuplicateSlashes ?? false,
    caseSensitive: router.caseSensitive ?? flat.caseSensitive ?? true
  }
}

/** The `RedisCluster` of the `redis` option (its own errors become the plugin's `AIP_ERR_INVALID_OPTION`). */
function clusterOnRedis (options: NonNullable<ResolvedPluginOptions['redis']>, logger: Logger): RedisCluster {
  try {
    return new RedisCluster({ ...options, logger })
  } catch (err) {
    throw new InvalidOptionError('redis', 'options RedisCluster accepts', err instanceof Error ? err.message : String(err), { cause: err })
  }
}

/** The plugin, before `fastify-plugin` wraps it. */
const plugin: FastifyPluginAsync<AipOptions> = async (fastify, options) => {
  if (fastify.hasDecorator('aip')) throw new AlreadyRegisteredError()
  const { plugin: settings, endpoint: endpointOptions } = resolvePluginOptions(options ?? {})
  // When this plugin registers @fastify/websocket, its errorHandler is the default one (see releaseUpgrade).
  const ownWebsocket = !fastify.hasDecorator('websocketServer')
  // The 'direct' upgrade path stands in for @fastify/websocket's 'upgrade' listener: only one the plugin added.
  if (settings.upgrade === 'direct' && !ownWebsocket) {
    throw new InvalidOptionError('upgrade', "'route' when @fastify/websocket is registered before fastify-aip", "'direct'")
  }
  const log: Logger = endpointOptions.logger ?? fastify.log.child({ plugin: 'fastify-aip' })
  const redis = settings.redis === null ? undefined : clusterOnRedis(settings.redis, log)
  const endpoint = createEndpoint({ ...endpointOptions, logger: log, ...(redis === undefined ? {} : { cluster: redis }) })
  if (endpoint.options.cluster !== null) {
    // A node joins its cluster (node lease, mailboxes) when the app is ready, before its first connection.
    fastify.addHook('onReady', async () => { await endpoint.start() })
  }

  let routeUpgrade: DirectUpgradeOptions['routeUpgrade'] | null = null
  if (ownWebsocket) {
    const before = new Set(fastify.server.rawListeners('upgrade'))
    await fastify.register(websocket, { options: { maxPayload: endpoint.options.maxPayloadBytes } })
    if (settings.upgrade === 'direct') routeUpgrade = addedListener(before, fastify.server.rawListeners('upgrade'))
  } else {
    log.debug({ path: settings.path }, '@fastify/websocket already registered: frame size enforced by the endpoint')
  }
  fastify.decorate('aip', endpoint)
  const stopLimiting = limitConnections(fastify.server, settings, log)
  const stopRedacting = redactMistypedPaths(fastify.server, settings.path, routerLeniency(fastify.initialConfig))
  // One count of failed authentications per client address for every credential the plugin checks.
  const authLimiter = settings.authFailureLimit === null ? null : new AuthFailureLimiter(settings.authFailureLimit, log)

  // Hooks: called with the payload and the instance; what they throw is logged.
  const disposers: Array<() => void> = []
  const call = <T>(name: string, hook: AipHook<T> | null, payload: T, ids: Record<string, unknown>): void => {
    if (hook === null) return
    const failed = (err: unknown): void => log.error({ err, hook: name, ...ids }, 'fastify-aip hook failed')
    try {
      Promise.resolve(hook(payload, fastify)).catch(failed)
    } catch (err) {
      failed(err)
    }
  }
  // Each event is listened to only with a hook to call: nothing runs per registration, disconnection or task
  // otherwise.
  const onDeviceRegistered = settings.onDeviceRegistered
  if (onDeviceRegistered !== null) {
    disposers.push(endpoint.on('clientRegistered', (record) => {
      if (record.clientType === 'device') call('onDeviceRegistered', onDeviceRegistered, record, { deviceId: record.clientId })
    }))
  }
  const onDeviceDisconnected = settings.onDeviceDisconnected
  if (onDeviceDisconnected !== null) {
    disposers.push(endpoint.on('clientDisconnected', (info) => {
      if (info.clientType === 'device') call('onDeviceDisconnected', onDeviceDisconnected, info, { deviceId: info.clientId })
    }))
  }
  const onTaskEnd = settings.onTaskEnd
  if (onTaskEnd !== null) {
    disposers.push(endpoint.on('taskEnd', (record) => {
      call('onTaskEnd', onTaskEnd, record, { sessionId: record.sessionId, deviceId: record.deviceId })
    }))
  }

  // The WebSocket route: credentials are checked once, before the upgrade, so a refused client gets an HTTP
  // status (429 while its address is refused for failing too often); the decision is handed to the endpoint with
  // the socket.
  // The decision rides on the raw request (a symbol property) from preValidation to the handler: no WeakMap entry
  // per upgrade.
  // The hand-off, the same from both upgrade paths; synchronous, so that every listener is attached before a frame
  // can arrive. No per-socket state here: the endpoint tracks its sockets (preClose drops what is left).
  /** The routed sockets' 'error' listener (see releaseUpgrade), one for all. */
  const onRoutedSocketError = function (this: WebSocket, error: Error): void {
    log.error(error)
    this.terminate()
  }
  const adopt = (socket: WebSocket, auth: AuthResult | IncomingMessage): void => {
    endpoint.handleWebSocket(socket, auth)
  }
  fastify.route({
    method: 'GET',
    url: settings.path,
    logSerializers: { req: redactedRequest },
    preValidation: (request, reply, done) => {
      if (!request.ws) { done(); return }
      const limited = refuseLimited(authLimiter, request, reply)
      if (limited !== null) { done(limited); return }
      const auth = endpoint.authenticate(request.raw)
      if (!auth.ok) {
        authLimiter?.fail(request.ip)
        log.warn({ status: auth.status, reason: auth.reason, remoteAddress: request.ip }, 'websocket upgrade refused')
        reply.code(auth.status).header('connection', 'close').send({ statusCode: auth.status, error: auth.status === 401 ? 'Unauthorized' : 'Forbidden', message: auth.reason })
        return
      }
      ;(request.raw as DecidedRequest)[kDecided] = auth
      done()
    },
    websocket: true,
    handler: (socket: WebSocket, request: FastifyRequest) => {
      // The endpoint owns this socket (it holds it until it is closed, refused ones too: see preClose):
      // @fastify/websocket's own preClose must not close it before the endpoint has sent TASK_END to requesters and
      // closed it with 1001.
      untrack(fastify.websocketServer, socket)
      const raw = request.raw as DecidedRequest
      const auth = raw[kDecided]
      raw[kDecided] = undefined
      releaseUpgrade(socket, request, ownWebsocket, onRoutedSocketError)
      // Auth was decided in preValidation.
      adopt(socket, auth ?? request.raw)
    }
  })
  // 'direct': upgrades on the path skip Fastify's routing (the route above still serves those the fast path
  // leaves to it; see the `upgrade` option).
  const stopDirect = routeUpgrade === null
    ? null
    : installDirectUpgrade({
      server: fastify.server,
      routeUpgrade,
      paths: mountedPaths(fastify.prefix, settings.path),
      router: routerLeniency(fastify.initialConfig),
      maxPayload: endpoint.options.maxPayloadBytes,
      authLimiter,
      authenticate: (request) => endpoint.authenticate(request),
      adopt,
      log
    })
  // After the listener routing upgrades through Fastify (@fastify/websocket's, or the 'direct' wrapper standing in
  // for it): that one gives each socket its response.
  const stopClosingAnswered = closeAnsweredUpgrades(fastify.server)

  if (settings.http) {
    if (settings.liveness !== null) livenessRoute(fastify, settings.liveness)
    if (settings.apiKey !== null) {
      await fastify.register(httpApi, { prefix: settings.prefix, endpoint, apiKey: settings.apiKey, authLimiter })
      await fastify.register(taskRoutes, { prefix: settings.prefix, endpoint, apiKey: settings.apiKey, authLimiter })
    } else {
      log.info({ prefix: settings.prefix }, 'no apiKey: the AIP HTTP API is not registered')
    }
  }

  // Opt-in operations routes: each in a file of its own, each behind the API key.
  if (settings.metrics !== null) {
    disposers.push(installMetrics({ fastify, endpoint, wsPath: settings.path, apiKey: settings.apiKey, authLimiter }, settings.metrics))
  }
  if (settings.dashboard !== null && settings.apiKey !== null) {
    disposers.push(installDashboard({ fastify, endpoint, apiKey: settings.apiKey, authLimiter }, settings.dashboard))
  }

  fastify.addHook('preClose', async () => {
    // First: while closing, @fastify/websocket has removed its 'upgrade' listener so that Node answers upgrades as
    // plain requests (503); a listener of ours left on 'upgrade' would leave them unanswered.
    stopDirect?.()
    stopLimiting()
    stopRedacting()
    stopClosingAnswered()
    endpoint.tasks.closing()
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(true), settings.closeTimeoutMs) })
    const late = await Promise.race([endpoint.stop().then(() => false), timedOut])
    clearTimeout(timer)
    // What is left: connections still open after closeTimeoutMs, and sockets refused while stopping whose close
    // handshake never completed (the endpoint holds both, without a listener of ours per socket).
    const dropped = endpoint.terminateConnections(GOING_AWAY, 'The server is shutting down')
    if (late && dropped > 0) log.warn({ sockets: dropped, timeoutMs: settings.closeTimeoutMs }, 'sockets still open after closeTimeoutMs: terminated')
  })

  fastify.addHook('onClose', async () => {
    for (const dispose of disposers.splice(0)) dispose()
    endpoint.sessions.close()
    endpoint.tasks.close()
    authLimiter?.clear()
    if (endpointOptions.results === undefined) endpoint.options.results.clear()
  })
}

/**
 * Turns a Fastify 5 app into an AIP device-agent server: mounts the WebSocket route (default `/ws`), decorates
 * the instance with `aip` (with `aip.sessions` and `aip.tasks`), serves the reference HTTP API behind
 * `X-API-Key`, and ends every task and socket on close.
 */
export const aipPlugin = fp(plugin, { name: 'fastify-aip', fastify: '5.x' })
