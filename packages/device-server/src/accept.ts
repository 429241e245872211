import { CloseCode, type Transport } from '@aip/endpoint'
import type { Credential } from './auth.js'
import { ClientConnection } from './connection.js'
import type { ServerCore } from './core.js'
import { unregister } from './registration.js'
import { onFrame } from './router.js'
import { serverError } from './server-error.js'
import { Texts } from './texts.js'

/**
 * Takes a new connection in: its listeners (attached at once, so that no frame arrives unheard), its frame queue
 * bound by `maxQueuedFrames`, its registration deadline and its pings. The one place a connection starts.
 */
export function accept (core: ServerCore, transport: Transport, credential: Credential): ClientConnection {
  const options = core.options
  const connectionId = core.nextConnectionId()
  // No child logger per connection (one per socket, for a few error lines): they carry connectionId themselves.
  const connection = new ClientConnection(transport, {
    connectionId, credential, now: options.now, logger: core.logger, maxOutboundBytes: options.maxOutboundBytes
  })
  core.connections.add(connection)
  transport.on('message', (data) => {
    // A peer over its outbound budget is being dropped: what it still sends is not read.
    if (connection.overBudget) return
    connection.seen()
    if (connection.queued >= options.maxQueuedFrames) {
      core.logger.warn({ connectionId, clientId: connection.identity?.clientId }, 'too many frames in flight: closing')
      connection.close(CloseCode.PolicyViolation, 'too many frames in flight')
      core.events.emit('frameRejected', { code: 'too_many_frames' })
      return
    }
    connection.enqueue(() => onFrame(core, connection, data))
  })
  // Activity is read only by the ping timer below.
  if (options.pingIntervalMs > 0) transport.on('pong', () => connection.seen())
  transport.on('error', (err) => core.logger.debug({ err, connectionId }, 'transport error'))
  transport.on('close', (info) => {
    connection.closed = true
    connection.closeInfo = info
    connection.dispose()
    core.connections.delete(connection)
    // Handled after the frames already queued, so that their effects happen first.
    connection.enqueue(() => unregister(core, connection, info.code, info.reason))
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
