/** Anything with an `on(event, listener)` that returns an unsubscribe function (our endpoints, emitters). */
export interface EventSource {
  on: (event: any, listener: (payload: any) => void) => () => void
}

/**
 * Resolves when `predicate` holds, checking every 5 ms; rejects after `timeoutMs` (a bound, not a measure: use it
 * for state that has no event). `what` names the condition in the rejection.
 */
export async function waitFor (predicate: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const started = Date.now()
  while (!predicate()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/**
 * The next `event` of `source` whose payload passes `match` (default: any), or a rejection after `timeoutMs`.
 * The listener is removed either way.
 */
export function nextEvent<T = any> (
  source: EventSource, event: string, match: (payload: T) => boolean = () => true, timeoutMs = 5000
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { off(); reject(new Error(`no ${event} event within ${timeoutMs} ms`)) }, timeoutMs)
    const off = source.on(event, (payload: T) => {
      if (!match(payload)) return
      clearTimeout(timer)
      off()
      resolve(payload)
    })
  })
}

/** The 14 fields of a reference ServerMessage, in the order the reference writes them. */
export const SERVER_MESSAGE_FIELDS = [
  'type', 'status', 'user_request', 'agent_name', 'process_name', 'root_name', 'actions', 'messages', 'error',
  'session_id', 'task_name', 'timestamp', 'response_id', 'result'
] as const

/** A timestamp in the reference form: `2026-11-23T23:12:09.896517+00:00` (microseconds, explicit offset). */
export function referenceTimestamp (date = new Date()): string {
  return date.toISOString().replace('Z', '000+00:00')
}

/**
 * A ServerMessage as a Python server writes it: every declared field in order, `null` when unset, a reference
 * timestamp and a fresh `response_id` unless given. Fields beyond the 14 (our extensions) follow them.
 */
export function serverFrame (fields: Record<string, unknown>): Record<string, unknown> {
  const frame: Record<string, unknown> = {}
  for (const key of SERVER_MESSAGE_FIELDS) frame[key] = fields[key] ?? null
  frame.timestamp ??= referenceTimestamp()
  frame.response_id ??= crypto.randomUUID()
  for (const [key, value] of Object.entries(fields)) if (!(key in frame)) frame[key] = value
  return frame
}
