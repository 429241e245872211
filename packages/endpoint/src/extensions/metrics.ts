import type { Extension } from './extension.js'

/** Counters of one direction. */
export interface DirectionMetrics {
  /** Messages. */
  readonly messages: number
  /** UTF-8 bytes of their frames. */
  readonly bytes: number
  /** Messages by `type`. */
  readonly byType: Readonly<Record<string, number>>
}

/** A copy of the counters at one moment. */
export interface MetricsSnapshot {
  readonly sent: DirectionMetrics
  readonly received: DirectionMetrics
  /** Errors by where they happened (`handler`, `middleware`, `invalidFrame`, `transfer`, `endpoint`). */
  readonly errors: Readonly<Record<string, number>>
  readonly connects: number
  readonly closes: number
}

/** The metrics extension: an {@link Extension} plus its counters. */
export interface MetricsExtension extends Extension {
  /** A frozen copy of the counters. */
  snapshot: () => MetricsSnapshot
  /** Sets every counter back to zero. */
  reset: () => void
}

interface Direction { messages: number, bytes: number, byType: Map<string, number> }

const freezeDirection = (d: Direction): DirectionMetrics =>
  Object.freeze({ messages: d.messages, bytes: d.bytes, byType: Object.freeze(Object.fromEntries(d.byType)) })

/**
 * Counts messages and bytes sent and received (by type), errors (by origin), connects and closes. Attach one
 * instance to several connections to get totals. Maps are keyed by message type and error origin only, so they
 * stay small.
 */
export function metricsExtension (): MetricsExtension {
  let sent: Direction
  let received: Direction
  let errors: Map<string, number>
  let connects: number
  let closes: number
  const reset = (): void => {
    sent = { messages: 0, bytes: 0, byType: new Map() }
    received = { messages: 0, bytes: 0, byType: new Map() }
    errors = new Map()
    connects = 0
    closes = 0
  }
  reset()
  const count = (d: Direction, type: string, bytes: number): void => {
    d.messages++
    d.bytes += bytes
    d.byType.set(type, (d.byType.get(type) ?? 0) + 1)
  }
  return {
    name: 'metrics',
    onSend (message, { bytes }) { count(sent, message.type, bytes) },
    onReceive (message, { bytes }) { count(received, message.type, bytes) },
    onConnect () { connects++ },
    onClose () { closes++ },
    onError (_err, where) { errors.set(where, (errors.get(where) ?? 0) + 1) },
    snapshot: () => Object.freeze({
      sent: freezeDirection(sent),
      received: freezeDirection(received),
      errors: Object.freeze(Object.fromEntries(errors)),
      connects,
      closes
    }),
    reset
  }
}
