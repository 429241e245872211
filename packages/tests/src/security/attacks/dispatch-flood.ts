import { Probe } from '../probe.js'
import { uniqueId, wsUrl, type ProbeResult, type Target } from '../target.js'

/** Size of {@link dispatchFlood}. */
export interface DispatchFloodOptions {
  /** `POST /dispatch` calls to one device that never takes them up. */
  dispatches?: number
  /** Characters of each request. */
  requestChars?: number
}

/**
 * HTTP dispatches to a device that never takes them up must not pile up without bound: past a per-device cap the
 * API refuses more (429). (Each one also has a deadline; see the tests.)
 */
export async function dispatchFlood (target: Target, { dispatches = 120, requestChars = 1000 }: DispatchFloodOptions = {}): Promise<ProbeResult> {
  const name = 'HTTP dispatches piling up on a silent device'
  if (target.apiKey === null) return { name, refused: true, detail: 'skipped: no API key given' }
  const deviceId = uniqueId('silent')
  const device = await Probe.open(wsUrl(target))
  try {
    await device.register(deviceId)
    const statuses = new Map<number, number>()
    let firstRefusal = -1
    for (let i = 0; i < dispatches; i++) {
      const reply = await fetch(`${target.httpUrl}${target.prefix}/dispatch`, {
        method: 'POST',
        headers: { 'x-api-key': target.apiKey, 'content-type': 'application/json' },
        body: JSON.stringify({ client_id: deviceId, request: 'r'.repeat(requestChars) })
      })
      await reply.arrayBuffer()
      statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1)
      if (reply.status === 429 && firstRefusal === -1) firstRefusal = i
    }
    const summary = [...statuses].map(([status, n]) => `${n} × HTTP ${status}`).join(', ')
    return { name, refused: firstRefusal !== -1, detail: `${summary}${firstRefusal === -1 ? '' : `; refused from dispatch ${firstRefusal + 1}`}` }
  } finally {
    device.close()
  }
}
