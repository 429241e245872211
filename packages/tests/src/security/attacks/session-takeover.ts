import { Probe } from '../probe.js'
import { uniqueId, wsUrl, type ProbeResult, type Target } from '../target.js'

/** Size of {@link sessionTakeover}. */
export interface SessionTakeoverOptions {
  /** How long the attacker waits for its REGISTER to be answered (past the server's takeover probe). */
  answerWithinMs?: number
}

/**
 * A registered device that is alive but does not answer pings for a while (its event loop is busy, it stopped
 * reading) must not be taken over by another connection registering its id. The victim stops reading and keeps
 * sending heartbeats; an attacker registers the same id with the shared token. With a per-client key given, the
 * victim registers with that key and stays entirely silent: only the same key may take it over.
 */
export async function sessionTakeover (target: Target, { answerWithinMs = 10_000 }: SessionTakeoverOptions = {}): Promise<ProbeResult> {
  const name = 'a live but silent device taken over by another connection'
  const outcomes: string[] = []
  let held = true
  const attempt = async (label: string, victimId: string, victimKey: string | null, beating: boolean): Promise<void> => {
    const victim = await Probe.open(wsUrl(target, victimKey ?? target.token))
    const attacker = await Probe.open(wsUrl(target))
    let timer: NodeJS.Timeout | undefined
    try {
      const registered = await victim.register(victimId)
      if (registered?.type !== 'heartbeat') { outcomes.push(`${label}: the victim could not register (${String(registered?.error)})`); return }
      victim.ws.pause()
      if (beating) {
        timer = setInterval(() => victim.send({ type: 'heartbeat', status: 'ok', client_type: 'device', client_id: victimId }), 100)
      }
      attacker.send({ type: 'register', status: 'ok', client_type: 'device', client_id: victimId, metadata: { platform: 'linux' } })
      const answer = await attacker.next(() => true, answerWithinMs)
      clearInterval(timer)
      victim.ws.resume()
      const victimOpen = victim.isOpen && (await victim.closedWithin(200)) === 0
      const refused = answer?.type === 'error' && victimOpen
      if (!refused) held = false
      outcomes.push(`${label}: attacker ${answer?.type === 'heartbeat' ? 'took the id over' : answer?.type === 'error' ? `refused (${String(answer.error)})` : 'got no answer'}, victim ${victimOpen ? 'still connected' : 'dropped'}`)
    } finally {
      clearInterval(timer)
      victim.close()
      attacker.close()
    }
  }
  await attempt('a device sending heartbeats but answering no ping', uniqueId('busy'), null, true)
  const keyed = Object.entries(target.clientKeys)[0]
  if (keyed !== undefined) await attempt(`${keyed[0]}, registered with its key, silent`, keyed[0], keyed[1], false)
  return { name, refused: held, detail: outcomes.join('; ') }
}
