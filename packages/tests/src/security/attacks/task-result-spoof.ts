import { Probe, type Frame } from '../probe.js'
import { uniqueId, wsUrl, type ProbeResult, type Target } from '../target.js'

/** Answers every COMMAND of `sessionId` with success Results until its TASK_END; resolves with the TASK_END. */
async function runAsDevice (probe: Probe, clientId: string, sessionId: string): Promise<Frame | null> {
  for (let i = 0; i < 100; i++) {
    const frame = await probe.next((f) => f.session_id === sessionId && (f.type === 'command' || f.type === 'task_end'), 10_000)
    if (frame === null || frame.type === 'task_end') return frame
    const results = (frame.actions as Array<{ call_id?: string }> | null ?? []).map((action) => ({ status: 'success', error: null, result: 'ok', namespace: 'sec', call_id: action.call_id ?? null }))
    probe.send({ type: 'command_results', status: 'continue', client_type: 'device', client_id: clientId, session_id: sessionId, prev_response_id: frame.response_id, action_results: results })
  }
  return null
}

/**
 * `GET /api/task_result/:name` after an HTTP dispatch must answer for that dispatch, even when a client holding only
 * the WebSocket token runs and finishes a task of its own under the same name afterwards.
 */
export async function taskResultSpoof (target: Target): Promise<ProbeResult> {
  const name = 'task_result answered by another client\'s task of the same name'
  if (target.apiKey === null) return { name, refused: true, detail: 'skipped: no API key given' }
  const taskName = uniqueId('name')
  const deviceId = uniqueId('victim')
  const attackerId = uniqueId('spoofer')
  const device = await Probe.open(wsUrl(target))
  const attacker = await Probe.open(wsUrl(target))
  const headers = { 'x-api-key': target.apiKey, 'content-type': 'application/json' }
  try {
    await device.register(deviceId)
    await attacker.register(attackerId)
    const reply = await fetch(`${target.httpUrl}${target.prefix}/dispatch`, { method: 'POST', headers, body: JSON.stringify({ client_id: deviceId, request: 'steps=1', task_name: taskName }) })
    const dispatched = await reply.json() as { session_id?: string }
    const sessionId = dispatched.session_id
    if (reply.status !== 200 || typeof sessionId !== 'string') return { name, refused: false, detail: `dispatch failed: HTTP ${reply.status}` }
    const task = await device.next((f) => f.type === 'task')
    device.send({ type: 'task', status: 'continue', client_type: 'device', client_id: deviceId, session_id: sessionId, task_name: task?.task_name ?? taskName, request: task?.user_request ?? 'steps=1' })
    await runAsDevice(device, deviceId, sessionId)
    // The attacker's own task, same name, ended after the dispatch.
    const spoofId = `${attackerId}-s`
    attacker.send({ type: 'task', status: 'continue', client_type: 'device', client_id: attackerId, session_id: spoofId, task_name: taskName, request: 'steps=1' })
    await runAsDevice(attacker, attackerId, spoofId)
    const read = await fetch(`${target.httpUrl}${target.prefix}/task_result/${taskName}`, { headers: { 'x-api-key': target.apiKey } })
    const body = await read.json() as { session_id?: string, status?: string }
    return {
      name,
      refused: read.status === 200 && body.session_id === sessionId,
      detail: `GET task_result/${taskName}: HTTP ${read.status}, session ${String(body.session_id)} (${body.session_id === sessionId ? "the dispatch's" : body.session_id === spoofId ? "the attacker's" : 'unknown'})`
    }
  } finally {
    device.close()
    attacker.close()
  }
}
