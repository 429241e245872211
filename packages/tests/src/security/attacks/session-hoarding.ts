import { Probe } from '../probe.js'
import { uniqueId, wsUrl, type ProbeResult, type Target } from '../target.js'

/** Size of {@link sessionHoarding}. */
export interface SessionHoardingOptions {
  /** TASKs the attacker starts and never lets finish. */
  sessions?: number
  /** Characters of the oversized request sent once. */
  requestChars?: number
}

const TOO_MANY = /too many tasks|too much data/i

/**
 * One client starts tasks and never answers their COMMANDs, so that each stays running and holds memory, and
 * sends one task whose request is huge. The server must refuse the client's tasks past its own share (while
 * another client still starts a task) and refuse the huge request.
 */
export async function sessionHoarding (target: Target, { sessions = 150, requestChars = 100_000 }: SessionHoardingOptions = {}): Promise<ProbeResult> {
  const name = "one client's share of running tasks, and a task request's length"
  const attackerId = uniqueId('hoarder')
  const bystanderId = uniqueId('bystander')
  const attacker = await Probe.open(wsUrl(target))
  const bystander = await Probe.open(wsUrl(target))
  try {
    await attacker.register(attackerId)
    let acked = 0
    let refusedAt = -1
    for (let i = 0; i < sessions && refusedAt === -1; i++) {
      const sessionId = `${attackerId}-${i}`
      attacker.send({ type: 'task', status: 'continue', client_type: 'device', client_id: attackerId, session_id: sessionId, request: `hold ${'h'.repeat(1000)}` })
      const answer = await attacker.next((f) => f.session_id === sessionId && (f.type === 'heartbeat' || f.type === 'error'))
      if (answer?.type === 'heartbeat') acked++
      else if (typeof answer?.error === 'string' && TOO_MANY.test(answer.error)) refusedAt = i
      else break
    }
    await bystander.register(bystanderId)
    bystander.send({ type: 'task', status: 'continue', client_type: 'device', client_id: bystanderId, session_id: `${bystanderId}-t`, request: 'steps=1' })
    const bystanderAck = await bystander.next((f) => f.session_id === `${bystanderId}-t`)
    // A fresh client, so that the refusal is for the request's length and not for the attacker's share.
    const sender = await Probe.open(wsUrl(target))
    const senderId = uniqueId('huge')
    await sender.register(senderId)
    sender.send({ type: 'task', status: 'continue', client_type: 'device', client_id: senderId, session_id: `${senderId}-huge`, request: 'r'.repeat(requestChars) })
    const huge = await sender.next((f) => f.session_id === `${senderId}-huge`)
    sender.close()
    const hugeRefused = huge?.type === 'error'
    return {
      name,
      refused: refusedAt !== -1 && bystanderAck?.type === 'heartbeat' && hugeRefused,
      detail: `${acked} tasks accepted, ${refusedAt === -1 ? 'none refused' : `refused from task ${refusedAt + 1}`}; another client's task ${bystanderAck?.type === 'heartbeat' ? 'accepted' : `not accepted (${String(bystanderAck?.error)})`}; a ${requestChars}-character request ${hugeRefused ? `refused: ${String(huge?.error)}` : 'accepted'}`
    }
  } finally {
    attacker.close()
    bystander.close()
  }
}
