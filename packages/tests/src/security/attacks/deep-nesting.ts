import { Probe } from '../probe.js'
import { uniqueId, wsUrl, type ProbeResult, type Target } from '../target.js'

/** Size of {@link deepNesting}. */
export interface DeepNestingOptions {
  /** Frames sent. */
  frames?: number
  /** Bytes of each frame (keep it under the deployment's frame limit). */
  frameBytes?: number
  /** Longest acceptable wait of a bystander's heartbeat while the frames are handled. */
  bystanderMaxMs?: number
}

/**
 * Frames nested as deep as their size allows (`[[[[...]]]]`): a server that parses before it measures the depth
 * spends many times the frame's size in CPU and memory, and its other clients wait. Each frame must be answered
 * with an ERROR (carrying the frame's ids) or closed, and a bystander device's heartbeats keep being answered.
 */
export async function deepNesting (target: Target, { frames = 10, frameBytes = 4 * 1024 * 1024 - 256, bystanderMaxMs = 1000 }: DeepNestingOptions = {}): Promise<ProbeResult> {
  const name = 'frames nested millions of levels deep'
  const attackerId = uniqueId('deep')
  const bystanderId = uniqueId('bystander')
  const attacker = await Probe.open(wsUrl(target))
  const bystander = await Probe.open(wsUrl(target))
  try {
    await attacker.register(attackerId)
    await bystander.register(bystanderId)
    const prefix = `{"type":"heartbeat","status":"ok","client_type":"device","client_id":"${attackerId}","session_id":"deep-s","request_id":"deep-r","metadata":`
    const levels = Math.max(1, Math.floor((frameBytes - prefix.length - 1) / 2))
    const frame = `${prefix}${'['.repeat(levels)}${']'.repeat(levels)}}`
    let slowest = 0
    const beat = { on: true }
    const heartbeats = (async () => {
      while (beat.on) {
        const started = Date.now()
        const answer = await bystander.ask({ type: 'heartbeat', status: 'ok', client_type: 'device', client_id: bystanderId })
        if (answer === null) { slowest = Number.POSITIVE_INFINITY; return }
        slowest = Math.max(slowest, Date.now() - started)
      }
    })()
    for (let i = 0; i < frames && attacker.isOpen; i++) await attacker.sendWritten(frame)
    let answered = 0
    for (let i = 0; i < frames && attacker.isOpen; i++) {
      const answer = await attacker.next((f) => f.type === 'error', 30_000)
      if (answer === null) break
      if (answer.session_id === 'deep-s' && answer.response_id === 'deep-r') answered++
    }
    const closed = !attacker.isOpen
    beat.on = false
    await heartbeats
    const held = (answered === frames || closed) && slowest <= bystanderMaxMs
    return {
      name,
      refused: held,
      detail: `${frames} frames of ${frame.length} bytes, ${levels} levels: ${answered} ERRORs carrying the frame's ids${closed ? ', connection closed' : ''}; a bystander's heartbeat waited at most ${slowest} ms`
    }
  } finally {
    attacker.close()
    bystander.close()
  }
}
