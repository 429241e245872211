import type { AnyMessage, ProtocolMiddleware } from './types.js'

/*
 * The middleware runs of one protocol. Outgoing middleware runs in registration order, incoming middleware in
 * reverse order. The protocol calls these only when at least one middleware is installed, so a connection
 * without middleware pays nothing per frame.
 */

/**
 * Runs `chain` on an outgoing message. Resolves with the message to send, or `null` when a middleware dropped
 * it. A middleware's throw (or rejection) rejects: the send fails with that error.
 */
export async function runOutgoing (chain: readonly ProtocolMiddleware[], message: AnyMessage): Promise<AnyMessage | null> {
  let current = message
  for (const middleware of chain) {
    if (middleware.processOutgoing === undefined) continue
    const next: AnyMessage | null | undefined | void = await middleware.processOutgoing(current)
    if (next === null) return null
    if (next !== undefined) current = next
  }
  return current
}

/**
 * Runs `chain` on an incoming message, last middleware first. Resolves with the message to deliver, or `null`
 * when a middleware dropped it or threw (then `onError` is told, and the frame is dropped).
 */
export async function runIncoming (
  chain: readonly ProtocolMiddleware[], message: AnyMessage, onError: (error: unknown, message: AnyMessage) => void
): Promise<AnyMessage | null> {
  let current = message
  for (let i = chain.length - 1; i >= 0; i--) {
    const middleware = chain[i] as ProtocolMiddleware
    if (middleware.processIncoming === undefined) continue
    try {
      const next: AnyMessage | null | undefined | void = await middleware.processIncoming(current)
      if (next === null) return null
      if (next !== undefined) current = next
    } catch (error) {
      onError(error, current)
      return null
    }
  }
  return current
}
