import type { IncomingMessage, Server } from 'node:http'
import type { Socket } from 'node:net'
import type { Logger } from '@aip/endpoint'
import { DeadlineQueue, type DeadlineClock } from '@aip/resilience'

/** The HTTP server limits the plugin applies, as resolved (`null`: leave the server's own setting). */
export interface ConnectionLimits {
  readonly headersTimeoutMs: number | null
  readonly maxConnections: number | null
  readonly maxConnectionsPerAddress: number
}

/**
 * Applies the connection limits to the app's HTTP server: how long a new connection may take to send its first
 * request headers (a connection that sends nothing is closed then; later requests of a kept-alive connection are
 * bounded by the server's `headersTimeout` and `keepAliveTimeout`), how many connections the server holds, and
 * how many one remote address may hold (further ones are closed at once). An upgraded WebSocket is watched by the
 * endpoint (registration deadline, pings, budgets). One timer serves every connection's first-request deadline
 * (`clock`: tests give a manual one). Returns the function that stops watching.
 */
export function limitConnections (server: Server, limits: ConnectionLimits, log: Logger, clock?: DeadlineClock): () => void {
  if (limits.headersTimeoutMs !== null) {
    server.headersTimeout = limits.headersTimeoutMs
    // Node requires requestTimeout >= headersTimeout when both are set.
    if (server.requestTimeout > 0 && server.requestTimeout < limits.headersTimeoutMs) server.requestTimeout = limits.headersTimeoutMs
  }
  if (limits.maxConnections !== null) server.maxConnections = limits.maxConnections
  const perAddressLimit = limits.maxConnectionsPerAddress
  const headersTimeoutMs = limits.headersTimeoutMs
  // Nothing to watch per connection: no listener at all.
  if (perAddressLimit <= 0 && headersTimeoutMs === null) return () => {}
  // One timer for every connection's first-request deadline, armed for the oldest.
  const firstRequest = headersTimeoutMs === null ? null : new DeadlineQueue<WatchedSocket>(headersTimeoutMs, destroy, clock)
  const requestArrived = (request: IncomingMessage): void => {
    const socket = request.socket
    if (firstRequest === null || !release(firstRequest, socket)) return
    // Without a per-address count, the socket's 'close' listener only cleared this timer: it goes too, so that a
    // long-lived (upgraded) connection keeps no listener of ours, nor the room Node's listener array keeps for it.
    if (perAddressLimit <= 0) socket.off('close', onClose)
  }
  const perAddress = new Map<string, number>()
  let warned = new Set<string>()
  // One 'close' listener shared by every socket (the socket is `this`), the address kept on the socket: an idle
  // connection holds no closure of its own here.
  const onClose = function (this: WatchedSocket): void {
    if (firstRequest !== null) release(firstRequest, this)
    const address = this[kAddress]
    if (address === undefined) return
    const left = (perAddress.get(address) ?? 1) - 1
    if (left <= 0) {
      perAddress.delete(address)
      if (warned.size > 0) warned.delete(address)
    } else {
      perAddress.set(address, left)
    }
  }
  const onConnection = (socket: WatchedSocket): void => {
    if (perAddressLimit > 0) {
      const address = socket.remoteAddress ?? 'unknown'
      const held = perAddress.get(address) ?? 0
      if (held >= perAddressLimit) {
        // Logged once per address and burst, not once per refused connection.
        if (!warned.has(address)) {
          warned.add(address)
          log.warn({ remoteAddress: address, maxConnectionsPerAddress: perAddressLimit }, 'too many connections from one address: refusing more')
        }
        socket.destroy()
        return
      }
      perAddress.set(address, held + 1)
      socket[kAddress] = address
    }
    if (firstRequest !== null) socket[kTicket] = firstRequest.add(socket)
    // `on`, not `once`: a socket closes once, and `once` would keep a wrapper per socket.
    socket.on('close', onClose)
  }
  // First, so that a refused connection reaches no other listener with a live socket.
  server.prependListener('connection', onConnection)
  server.prependListener('request', requestArrived)
  server.prependListener('upgrade', requestArrived)
  return () => {
    server.off('connection', onConnection)
    server.off('request', requestArrived)
    server.off('upgrade', requestArrived)
    firstRequest?.clear()
    warned = new Set()
  }
}

function destroy (socket: Socket): void {
  socket.destroy()
}

/**
 * Ends the first-request deadline of `socket` (its first request came, or it closed). True when it was waiting;
 * false when it was not (no socket: `@fastify/websocket`'s `injectWS` emits an upgrade without one; never added;
 * already released or expired).
 */
function release (deadlines: DeadlineQueue<WatchedSocket>, socket: WatchedSocket | null | undefined): boolean {
  const ticket = socket?.[kTicket]
  if (ticket === undefined || ticket < 0) return false
  // -1 rather than `delete`: the socket keeps its shape.
  ;(socket as WatchedSocket)[kTicket] = -1
  return deadlines.release(ticket)
}

/** The remote address a socket was counted under (set only while the per-address limit is on). */
const kAddress = Symbol('fastify-aip.connectionAddress')
/** The ticket of a socket's first-request deadline (set while it waits for its first request; -1 after). */
const kTicket = Symbol('fastify-aip.firstRequestTicket')

type WatchedSocket = Socket & { [kAddress]?: string, [kTicket]?: number }
