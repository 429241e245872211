import type { ClientConnection } from './connection.js'

/*
 * The end of a drain: every connection is closed with 1012 and the reconnect hint (`aip-drain retry-ms=<n>`,
 * PROTOCOL.md "Drain and the reconnect hint"), the closes spread over a short window so that a fleet does not
 * come back all at once.
 */

/** The shortest step between two batches of closes: a wider window is cut into batches, not one timer each. */
const MIN_STEP_MS = 10

/**
 * When each of `count` connections is closed within `spreadMs`: batch `b` of `batches` (each a run of consecutive
 * connections) at `round(b * spreadMs / batches)` milliseconds, the first at once. At most one batch per 10 ms.
 */
export function closeSchedule (count: number, spreadMs: number): Array<{ delayMs: number, from: number, to: number }> {
  if (count === 0) return []
  const batches = spreadMs <= 0 ? 1 : Math.min(count, 1 + Math.floor(spreadMs / MIN_STEP_MS))
  const schedule: Array<{ delayMs: number, from: number, to: number }> = []
  for (let b = 0; b < batches; b++) {
    schedule.push({ delayMs: Math.round(b * spreadMs / batches), from: Math.floor(b * count / batches), to: Math.floor((b + 1) * count / batches) })
  }
  return schedule
}

/**
 * Closes every connection of `connections` with `code` and `reason`, spread over `spreadMs` as
 * {@link closeSchedule} says. Resolves once every one of them is closed (a connection closed meanwhile by
 * someone else counts as closed).
 */
export async function closeSpread (connections: readonly ClientConnection[], code: number, reason: string, spreadMs: number): Promise<void> {
  const closed = connections.map((connection) => new Promise<void>((resolve) => {
    if (connection.closed) resolve()
    else connection.transport.on('close', () => resolve())
  }))
  const timers: NodeJS.Timeout[] = []
  for (const { delayMs, from, to } of closeSchedule(connections.length, spreadMs)) {
    const batch = connections.slice(from, to)
    const close = (): void => { for (const connection of batch) connection.close(code, reason) }
    if (delayMs === 0) close()
    else timers.push(setTimeout(close, delayMs))
  }
  try {
    await Promise.all(closed)
  } finally {
    for (const timer of timers) clearTimeout(timer)
  }
}
