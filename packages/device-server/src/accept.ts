import { CloseCode, type CloseInfo, type ProtocolEvents, type Transport } from '@aip/endpoint'
import type { Credential } from './auth.js'
import { ClientConnection } from './connection.js'
import type { ServerCore } from './core.js'
import { unregister } from './registration.js'
import { onInvalidFrame } from './router.js'
import { serverError } from './server-error.js'
import { Texts } from './texts.js'

/**
 * Takes a new connection in: its {@link AIPProtocol} (the one place its frames are decoded, in order, its queue
 * bound by `maxQueuedFrames`), its listeners (attached at once, so that no frame arrives unheard), its
 * registration deadline and its pings. The one place a connection starts.
 */
export function accept (core: ServerCore, transport: Transport, credential: Credential): ClientConnection {
  const options = core.options
  const connectionId = core.nextConnectionId()
  // No child logger per connection (one per socket, for a few error lines): they carry connectionId themselves.
  // Activity first: this listener runs before the protocol's, for every frame.
  transport.on('message', () => { if (!connection.overBudget) connection.seen() })
  // Into the endpoint's connection table: its messages come back through `handleMessage(message, connectionId)`,
  // and every extension `use()`d on the endpoint sees its frames.
  const protocol = core.attach(transport, connectionId)
  const connection = new ClientConnection(protocol, {
    connectionId,
    credential,
    now: options.now,
    logger: core.logger,
    maxOutboundBytes: options.maxOutboundBytes,
    onSendError: core.sendFailed
  })
  core.connections.add(connection)
  core.byConnectionId.set(connectionId, connection)
  // Activity is read only by the ping timer below.
  if (options.pingIntervalMs > 0) transport.on('pong', () => connection.seen())
  transport.on('error', (err) => core.logger.debug({ err, connectionId }, 'transport error'))
  transport.on('close', (info) => {
    connection.closed = true
    connection.closeInfo = info
    connection.dispose()
    core.connections.delete(connection)
  })
  connection.registrationTimer = connection.timer(options.registrationTimeoutMs, () => {
    if (connection.identity !== null || connection.closed) return
    core.logger.info({ connectionId }, 'no REGISTER in time')
    connection.sendAndClose(serverError({ error: Texts.registrationTimeout(options.registrationTimeoutMs) }), CloseCode.RegistrationTimeout, 'registration timeout')
  })
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

// The protocol's events below reach the server through the endpoint's hooks, with the connection id: no listener
// per connection. None comes after the protocol's close, when the connection leaves `byConnectionId`.

/** A frame of the connection `connectionId` could not be decoded: answered, counted (the endpoint's hook). */
export function connectionInvalidFrame (core: ServerCore, connectionId: string, event: ProtocolEvents<'server'>['invalidFrame']): void {
  const connection = core.byConnectionId.get(connectionId)
  if (connection !== undefined) onInvalidFrame(core, connection, event)
}

/** The connection `connectionId` sent more frames than may wait: it is closed (the endpoint's hook). */
export function connectionQueueFull (core: ServerCore, connectionId: string): void {
  const connection = core.byConnectionId.get(connectionId)
  if (connection === undefined || connection.overBudget) return
  core.logger.warn({ connectionId, clientId: connection.identity?.clientId }, 'too many frames in flight: closing')
  connection.close(CloseCode.PolicyViolation, 'too many frames in flight')
  core.events.emit('frameRejected', { code: 'too_many_frames' })
}

/**
 * The protocol of the connection `connectionId` has closed (the endpoint's hook): after the frames already queued,
 * so that their effects happen first, and after the extensions' `onClose`. The connection leaves the table, then
 * unregisters.
 */
export function connectionClosed (core: ServerCore, connectionId: string, info: CloseInfo): void {
  const connection = core.byConnectionId.get(connectionId)
  if (connection === undefined) return
  core.byConnectionId.delete(connectionId)
  unregister(core, connection, info.code, info.reason).catch((err: unknown) => core.logger.error({ err, connectionId }, 'unregister failed'))
}
