import { CloseCode, type AIPProtocol, type CloseInfo, type ProtocolEvents, type Transport } from '@aip/endpoint'
import type { Credential } from './auth.js'
import { ClientConnection } from './connection.js'
import type { ServerCore } from './core.js'
import { unregister } from './registration.js'
import { onInvalidFrame } from './router.js'

/**
 * Takes a new connection in: its {@link AIPProtocol} (the one place its frames are decoded, in order, its queue
 * bound by `maxQueuedFrames`), its listeners (attached at once, so that no frame arrives unheard), its
 * registration deadline and its pings. The one place a connection starts.
 */
export function accept (core: ServerCore, transport: Transport, credential: Credential): ClientConnection {
  const options = core.options
  const connectionId = core.nextConnectionId()
  // No child logger per connection (one per socket, for a few error lines): they carry connectionId themselves.
  // No listener for the frames either: the protocol counts them and times their arrival (the server's clock).
  // Into the endpoint's connection table: its messages, invalid frames and close come back through the endpoint's
  // hooks with its protocol, which holds the connection (`protocol.data`): no listener, no table of our own.
  // Every extension `use()`d on the endpoint sees its frames.
  const protocol = core.attach(transport, connectionId)
  const connection = new ClientConnection(protocol, connectionId, credential, core.connectionSettings)
  protocol.data = connection
  core.connections.add(connection)
  // Activity is read only by the ping timer below.
  if (options.pingIntervalMs > 0) transport.on('pong', () => connection.seen())
  // One timer for every connection's registration deadline (see `expireRegistration`).
  connection.deadlineTicket = core.registrationDeadlines.add(connection)
  const interval = options.pingIntervalMs
  if (interval > 0) {
    connection.timer(interval, () => {
      if (options.now() - connection.lastSeen >= 2 * interval) {
        core.logger.warn({ clientId: connection.identity?.clientId, connectionId }, 'peer unresponsive: dropping the connection')
        connection.close(CloseCode.PeerUnresponsive, 'peer unresponsive')
        connection.transport.terminate()
        return
      }
      connection.transport.ping()
    }, true)
  }
  return connection
}

// The protocol's events below reach the server through the endpoint's hooks, with the connection's protocol: no
// listener per connection.

/** The connection of a protocol, when the server accepted it. */
export function connectionOf (protocol: AIPProtocol<'server'>): ClientConnection | undefined {
  return protocol.data instanceof ClientConnection ? protocol.data : undefined
}

/** A frame of `connection` could not be decoded: answered, counted (the endpoint's hook). */
export function connectionInvalidFrame (core: ServerCore, connection: ClientConnection, event: ProtocolEvents<'server'>['invalidFrame']): void {
  onInvalidFrame(core, connection, event)
}

/** `connection` sent more frames than may wait: it is closed (the endpoint's hook). */
export function connectionQueueFull (core: ServerCore, connection: ClientConnection): void {
  if (connection.overBudget) return
  core.logger.warn({ connectionId: connection.connectionId, clientId: connection.identity?.clientId }, 'too many frames in flight: closing')
  connection.close(CloseCode.PolicyViolation, 'too many frames in flight')
  core.events.emit('frameRejected', { code: 'too_many_frames' })
}

/**
 * The transport of `connection` has closed (the endpoint's hook, at once): nothing more is sent or handled on it,
 * its timers are cleared and it leaves the open connections.
 */
export function connectionTransportClosed (core: ServerCore, connection: ClientConnection, info: CloseInfo): void {
  connection.closeInfo = info
  connection.dispose()
  core.connections.delete(connection)
  core.registrationDeadlines.release(connection.deadlineTicket)
  if (core.connections.size === 0) core.registrationDeadlines.clear()
}

/**
 * The protocol of `connection` has closed (the endpoint's hook): after the frames already queued, so that their
 * effects happen first, and after the extensions' `onClose`. The connection unregisters.
 */
export function connectionClosed (core: ServerCore, connection: ClientConnection, info: CloseInfo): void {
  unregister(core, connection, info.code, info.reason).catch((err: unknown) => core.logger.error({ err, connectionId: connection.connectionId, clientId: connection.identity?.clientId }, 'unregister failed'))
}
