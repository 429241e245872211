import { STATUS_CODES, ServerResponse, type IncomingMessage, type Server } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { Logger } from '@aip/endpoint'
import type { AuthResult } from '@aip/device-server'
import { WebSocketServer, type WebSocket } from 'ws'
import type { AuthFailureLimiter } from './auth-limiter.js'
import { AuthRateLimitedError } from './errors.js'
import { routed, type RouterLeniency } from './redact.js'

/**
 * How an upgrade request on the plugin's WebSocket path is served (the `upgrade` option):
 * - `'route'`: through Fastify, as a route of the app: its hooks (`onRequest`, `preValidation`... of the app and of
 *   plugins such as `@fastify/rate-limit`), request logging and error handler apply;
 * - `'direct'`: the plugin takes the upgrade from the server's `'upgrade'` event before Fastify routes it, checks
 *   the credentials and limits itself, and hands the socket to `ws` and the endpoint: no Fastify request, reply or
 *   hook exists for it.
 */
export type UpgradeMode = 'route' | 'direct'

/** What the direct upgrade path needs from the plugin. */
export interface DirectUpgradeOptions {
  /** The app's HTTP server. */
  readonly server: Server
  /** The `'upgrade'` listener of `@fastify/websocket` (it routes an upgrade through Fastify). */
  readonly routeUpgrade: (this: Server, request: IncomingMessage, socket: Duplex, head: Buffer) => void
  /** The WebSocket route's paths as mounted (the encapsulation prefix included): see {@link mountedPaths}. */
  readonly paths: readonly string[]
  /** How the app's router normalises paths. */
  readonly router: RouterLeniency
  /** Largest frame `ws` accepts (the same `maxPayload` the route's `ws` server has). */
  readonly maxPayload: number
  /** The limiter of failed authentications, shared with every other credential the plugin checks. */
  readonly authLimiter: AuthFailureLimiter | null
  /** Decides the credentials of an upgrade (the endpoint's `authenticate`). */
  readonly authenticate: (request: IncomingMessage) => AuthResult
  /** Hands an accepted socket over, with the decision. */
  readonly adopt: (socket: WebSocket, auth: AuthResult) => void
  readonly log: Logger
}

/** The remote address of an upgrade request's connection (`''` once the socket has none). */
function addressOf (request: IncomingMessage): string {
  return request.socket.remoteAddress ?? ''
}

/** The path part of a request URL (the query aside). */
function pathname (url: string): string {
  const at = url.indexOf('?')
  return at === -1 ? url : url.slice(0, at)
}

/**
 * The route's paths as the router matches them: `path` under `prefix`; a route `/` under a prefix is mounted at
 * both `prefix` and `prefix/` (Fastify's default `prefixTrailingSlash`).
 */
export function mountedPaths (prefix: string, path: string): string[] {
  if (prefix === '') return [path]
  return path === '/' ? [prefix, `${prefix}/`] : [prefix + path]
}

/**
 * Takes over the `'upgrade'` listener of `@fastify/websocket` on `server`: an upgrade it can serve directly (see
 * {@link takes}) is answered here; every other one goes to that listener, as before. The wrapper stands in the
 * listener's place and carries it as `listener` (as `once` wrappers do), so that `@fastify/websocket`'s own
 * `removeListener('upgrade', ...)` on close removes it: during close, upgrades are answered as they are in
 * `'route'` mode. Returns the function that stops it (the plugin calls it first thing on close).
 */
export function installDirectUpgrade (options: DirectUpgradeOptions): () => void {
  const { server, routeUpgrade, authLimiter, authenticate, adopt, log } = options
  const routedPaths = new Set(options.paths.map((p) => routed(p, options.router)))
  // A `ws` server of its own: no client tracking (the endpoint tracks its connections), the route's frame size.
  const wss = new WebSocketServer({ noServer: true, clientTracking: false, maxPayload: options.maxPayload })
  let closing = false

  /**
   * Whether this path serves `request`: a GET on the WebSocket path (as the router matches it, no percent-escapes)
   * without `X-Forwarded-For` (whose address only Fastify's `trustProxy` can decide), on a real socket
   * (`injectWS` emits requests without one). The rest goes to Fastify.
   */
  const takes = (request: IncomingMessage): boolean => {
    if (closing || request.method !== 'GET' || request.url === undefined || request.socket == null) return false
    if (request.headers['x-forwarded-for'] !== undefined) return false
    const path = pathname(request.url)
    return !path.includes('%') && routedPaths.has(routed(path, options.router))
  }

  const serve = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // The address is asked of the kernel (`getpeername`) only when something reads it: a limiter that tracks an
    // address, or a refusal. An accepted upgrade while no address has failed never needs it.
    const seconds = authLimiter !== null && authLimiter.trackedAddresses > 0 ? authLimiter.retryAfter(addressOf(request)) : null
    if (seconds !== null) {
      const error = new AuthRateLimitedError(seconds)
      refuse(request, socket, 429, { 'retry-after': String(seconds) }, { statusCode: 429, code: error.code, error: STATUS_CODES[429], message: error.message })
      return
    }
    const auth = authenticate(request)
    if (!auth.ok) {
      const address = addressOf(request)
      authLimiter?.fail(address)
      log.warn({ status: auth.status, reason: auth.reason, remoteAddress: address }, 'websocket upgrade refused')
      refuse(request, socket, auth.status, {}, { statusCode: auth.status, error: auth.status === 401 ? 'Unauthorized' : 'Forbidden', message: auth.reason })
      return
    }
    // `ws` checks the handshake (answering 400 and the like itself) and guards the socket's errors from here on.
    wss.handleUpgrade(request, socket, head, (ws) => {
      ws.on('error', onSocketError)
      adopt(ws, auth)
    })
  }

  /** What the route's socket 'error' listener does (`@fastify/websocket`'s default): log it, end the socket. */
  function onSocketError (this: WebSocket, error: Error): void {
    log.error(error)
    this.terminate()
  }

  const dispatch = function (this: Server, request: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (takes(request)) serve(request, socket, head)
    else routeUpgrade.call(this, request, socket, head)
  }
  ;(dispatch as typeof dispatch & { listener: unknown }).listener = routeUpgrade
  server.removeListener('upgrade', routeUpgrade)
  server.on('upgrade', dispatch)

  // Stops: the wrapper leaves (if `@fastify/websocket` has not removed it yet); further upgrades are answered as
  // they are in 'route' mode while the app closes.
  return () => {
    closing = true
    server.removeListener('upgrade', dispatch)
    wss.close()
  }
}

/**
 * Answers a refused upgrade as the route does: the same status, headers (with `Connection: close`) and JSON body
 * as Fastify's reply, written by a `ServerResponse` on the socket; the socket is destroyed once it is written.
 */
function refuse (request: IncomingMessage, socket: Duplex, status: number, headers: Record<string, string>, body: Record<string, unknown>): void {
  // Node removed its own 'error' listener before emitting 'upgrade': a reset while writing must not throw.
  socket.on('error', destroyOnError)
  const payload = JSON.stringify(body)
  const response = new ServerResponse(request)
  // The socket of an 'upgrade' event is the connection's net.Socket (typed as a Duplex by Node).
  const net = socket as Socket
  response.assignSocket(net)
  response.on('finish', () => {
    response.detachSocket(net)
    socket.destroy()
  })
  response.writeHead(status, {
    ...headers,
    connection: 'close',
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(payload))
  })
  response.end(payload)
}

function destroyOnError (this: Duplex): void {
  this.destroy()
}
