import { Probe } from '../probe.js'
import { uniqueId, wsUrl, type ProbeResult, type Target } from '../target.js'

/** Size of {@link echoAmplification}. */
export interface EchoAmplificationOptions {
  /** Characters of the client text the server could repeat (stay under the deployment's frame limit). */
  textChars?: number
  /** Largest answer accepted, in characters. */
  maxAnswerChars?: number
}

/**
 * Client text the server could repeat in its answers: a client ERROR's text, the ids of a malformed frame, the
 * session id of a refused TASK, the client id of a refused REGISTER. Every answer must stay a few hundred bytes,
 * whatever the client sent: otherwise each frame costs the server its size twice (and a log line).
 */
export async function echoAmplification (target: Target, { textChars = 200_000, maxAnswerChars = 2048 }: EchoAmplificationOptions = {}): Promise<ProbeResult> {
  const name = 'client text repeated in answers (echo amplification)'
  const clientId = uniqueId('echo')
  const long = 'e'.repeat(textChars)
  const sizes: string[] = []
  let worst = 0
  const measure = (label: string, frame: Record<string, unknown> | null): void => {
    const size = frame === null ? 0 : JSON.stringify(frame).length
    worst = Math.max(worst, size)
    sizes.push(`${label} ${size}`)
  }
  const probe = await Probe.open(wsUrl(target))
  try {
    const answer = await probe.register(clientId)
    if (answer?.type !== 'heartbeat') return { name, refused: false, detail: `could not register: ${JSON.stringify(answer)}` }
    measure('client ERROR', await probe.ask({ type: 'error', status: 'error', client_type: 'device', client_id: clientId, error: long }))
    measure('malformed frame', await probe.ask({ type: 'bogus', status: 'ok', session_id: long, request_id: long }))
    measure('TASK with a long session id', await probe.ask({ type: 'task', status: 'continue', client_type: 'device', client_id: clientId, session_id: long, request: 'steps=1', request_id: long }))
    measure('spoofed client id', await probe.ask({ type: 'heartbeat', status: 'ok', client_type: 'device', client_id: long }))
  } finally {
    probe.close()
  }
  const refusal = await Probe.open(wsUrl(target))
  try {
    measure('REGISTER of a long id', await refusal.register(long))
  } finally {
    refusal.close()
  }
  return { name, refused: worst <= maxAnswerChars, detail: `answer sizes (characters): ${sizes.join(', ')}` }
}
