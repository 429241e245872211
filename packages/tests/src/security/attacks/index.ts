import type { ProbeResult, Target } from '../target.js'
import { deepNesting } from './deep-nesting.js'
import { dispatchFlood } from './dispatch-flood.js'
import { echoAmplification } from './echo-amplification.js'
import { idleConnections } from './idle-connections.js'
import { keyRoleBinding } from './key-role-binding.js'
import { sessionHoarding } from './session-hoarding.js'
import { sessionTakeover } from './session-takeover.js'
import { slowReader } from './slow-reader.js'
import { taskResultSpoof } from './task-result-spoof.js'
import { unauthenticatedBody } from './unauthenticated-body.js'

/** One attack of the suite, runnable against any deployment. */
export interface Attack {
  /** Short name for `--only`. */
  readonly id: string
  /** Runs it at the size given (`full`: sized for a deployment's default limits; otherwise small and quick). */
  readonly run: (target: Target, full: boolean) => Promise<ProbeResult>
}

/** Every attack, most severe first. The full sizes assume the default limits of fastify-aip. */
export const ATTACKS: readonly Attack[] = [
  { id: 'slow-reader', run: async (target, full) => await slowReader(target, full ? {} : { frames: 30_000, closeWithinMs: 3000 }) },
  { id: 'echo', run: async (target, full) => await echoAmplification(target, full ? {} : { textChars: 100_000 }) },
  { id: 'key-role', run: async (target) => await keyRoleBinding(target) },
  { id: 'deep-nesting', run: async (target, full) => await deepNesting(target, full ? {} : { frames: 3, frameBytes: 200 * 1024, bystanderMaxMs: 5000 }) },
  { id: 'idle-connections', run: async (target, full) => await idleConnections(target, full ? {} : { connections: 20, closeWithinMs: 15_000 }) },
  { id: 'session-hoarding', run: async (target, full) => await sessionHoarding(target, full ? {} : { sessions: 120 }) },
  { id: 'task-result-spoof', run: async (target) => await taskResultSpoof(target) },
  { id: 'session-takeover', run: async (target) => await sessionTakeover(target) },
  { id: 'dispatch-flood', run: async (target, full) => await dispatchFlood(target, full ? {} : { dispatches: 110 }) },
  { id: 'unauthenticated-body', run: async (target) => await unauthenticatedBody(target) }
]

/** Runs the attacks (all, or those named in `only`) one after another; a crash of one is reported, not thrown. */
export async function runAttacks (target: Target, { full = true, only = null }: { full?: boolean, only?: readonly string[] | null } = {}): Promise<ProbeResult[]> {
  const results: ProbeResult[] = []
  for (const attack of ATTACKS) {
    if (only !== null && !only.includes(attack.id)) continue
    try {
      results.push(await attack.run(target, full))
    } catch (err) {
      results.push({ name: attack.id, refused: false, detail: `the attack could not run: ${(err as Error).message}` })
    }
  }
  return results
}
