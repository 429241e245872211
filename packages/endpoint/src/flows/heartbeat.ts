import { buildHeartbeat, type ClientType } from '@aip/protocol'
import { HeartbeatManager, type HeartbeatEvents, type Logger, type Unsubscribe } from '@aip/resilience'
import type { AIPProtocol } from '../protocol/index.js'

/** Options of {@link startHeartbeat}. */
export interface HeartbeatOptions {
  /** The registered client id. */
  clientId: string
  /** The registered role; the server refuses a heartbeat of another role (reference bug B1). */
  clientType: ClientType
  /** Time between heartbeats. Default 20000 ms, the reference device's. */
  intervalMs?: number
  /** Unanswered heartbeats in a row before `dead`. Default 3. */
  maxMissedAcks?: number
  logger?: Logger
}

/** A running heartbeat. */
export interface HeartbeatHandle {
  /** The manager: its `ack`, `missed`, `dead` and `sendError` events, and the last RTT. */
  readonly manager: HeartbeatManager
  /** Subscribes to an event of the manager; returns the unsubscriber. */
  on: <E extends keyof HeartbeatEvents>(event: E, listener: (payload: HeartbeatEvents[E]) => void) => Unsubscribe
  /** Stops the heartbeat and removes every listener. Also happens when the connection closes. */
  stop: () => void
}

/**
 * The client side of heartbeats: every `intervalMs` sends a HEARTBEAT with the registered `client_type`, and
 * counts each server HEARTBEAT `ok` without a session (the answer to a heartbeat) as its ack, so a silent
 * server is declared `dead` after `maxMissedAcks` intervals.
 */
export function startHeartbeat (protocol: AIPProtocol<'client'>, options: HeartbeatOptions): HeartbeatHandle {
  const { clientId, clientType } = options
  const manager = new HeartbeatManager({
    intervalMs: options.intervalMs ?? 20_000,
    maxMissedAcks: options.maxMissedAcks ?? 3,
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    send: () => protocol.send(buildHeartbeat({ clientId, clientType }))
  })
  const subscriptions: Unsubscribe[] = [
    protocol.onMessage('heartbeat', (message) => {
      if (message.status === 'ok' && message.session_id === null) manager.recordAck(clientId)
    }),
    protocol.on('close', () => stop())
  ]
  let stopped = false
  function stop (): void {
    if (stopped) return
    stopped = true
    for (const unsubscribe of subscriptions) unsubscribe()
    manager.dispose()
  }
  manager.start(clientId)
  return { manager, on: (event, listener) => manager.on(event, listener), stop }
}
