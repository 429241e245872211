import { Probe } from '../probe.js'
import { wsUrl, type ProbeResult, type Target } from '../target.js'

const DUPLICATE = /is already registered; duplicate registrations are not allowed$/

/**
 * A per-client key binds an id and a role; the shared token cannot take an id that has its own key. With a
 * device's key (`target.clientKeys`, the first entry): register as an unscoped constellation under that id, and
 * with the shared token register that id as a device. Both must be refused. When the device is connected, the
 * reference's duplicate refusal hides the answer: the probe says so.
 */
export async function keyRoleBinding (target: Target): Promise<ProbeResult> {
  const name = 'a per-client key used for another role, and its id taken with the shared token'
  const first = Object.entries(target.clientKeys)[0]
  if (first === undefined) return { name, refused: true, detail: 'skipped: no per-client key given' }
  const [clientId, key] = first
  const outcomes: string[] = []
  let refused = true
  const attempt = async (label: string, token: string | null, frame: Record<string, unknown>): Promise<void> => {
    const probe = await Probe.open(wsUrl(target, token))
    try {
      const answer = await probe.ask(frame)
      const error = typeof answer?.error === 'string' ? answer.error : null
      if (answer?.type !== 'error') refused = false
      outcomes.push(`${label}: ${answer?.type === 'error' ? `ERROR ${String(error)}${error !== null && DUPLICATE.test(error) ? ' (inconclusive: the device is connected)' : ''}` : `accepted (${String(answer?.type)})`}`)
    } finally {
      probe.close()
    }
  }
  await attempt(`${clientId}'s key as an unscoped constellation`, key, { type: 'register', status: 'ok', client_type: 'constellation', client_id: clientId })
  if (target.token !== null) {
    await attempt(`${clientId} with the shared token`, target.token, { type: 'register', status: 'ok', client_type: 'device', client_id: clientId, metadata: { platform: 'linux' } })
  }
  return { name, refused, detail: outcomes.join('; ') }
}
