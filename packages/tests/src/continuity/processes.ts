import { fork, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Observed } from '../fleet/processes.js'

/** A script of this folder, built: `dist/continuity/<name>.js` (under tap this module runs from `src/`). */
export function continuityScript (name: string): string {
  const base = import.meta.url.endsWith('.ts') ? '../../dist/continuity/' : './'
  return fileURLToPath(new URL(`${base}${name}.js`, import.meta.url))
}

/** The device program (see device.ts): `work` tool, one JSON line per execution. */
export function startContinuityDevice (id: string, wsUrl: string, continuity = true): Observed {
  const args = [continuityScript('device'), wsUrl, id, ...(continuity ? [] : ['--no-continuity'])]
  return new Observed(`continuity device ${id}`, spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] }))
}

/** What the constellation program reports when a task's promise settles. */
export interface ContinuityOutcome {
  readonly type: 'task'
  readonly id: number
  /** `completed` / `failed` (a TASK_END), or `rejected`. */
  readonly outcome: 'completed' | 'failed' | 'rejected'
  /** The rejection's code (`AIP_ERR_CONSTELLATION_DEVICE_DISCONNECTED`, ...). */
  readonly code?: string
  readonly error?: string | null
  /** `taskEnd` events of the task in the program when it settled (must be 1). */
  readonly ends: number
  /** `Date.now()` in the program when it settled. */
  readonly at: number
}

/** The constellation program (see constellation.ts), driven over an IPC channel it does not keep alive. */
export class ContinuityConstellation extends Observed {
  static start (devices: ReadonlyArray<{ deviceId: string, serverUrl: string }>, continuity = true): ContinuityConstellation {
    const child = fork(continuityScript('constellation'), [JSON.stringify({ devices, continuity })], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] })
    return new ContinuityConstellation('continuity constellation', child)
  }

  /**
   * Sends task `id` (its signal aborts after `abortAfterMs`, when given) and resolves with its outcome; rejects when
   * none comes within `timeoutMs` + 15 s.
   */
  async task (id: number, device: string, request: string, sessionId: string, timeoutMs: number, abortAfterMs?: number): Promise<ContinuityOutcome> {
    const from = this.values.length
    this.child.send({ cmd: 'task', id, device, request, sessionId, timeoutMs, ...(abortAfterMs === undefined ? {} : { abortAfterMs }) })
    return await this.waitFor((v) => v.type === 'task' && v.id === id, timeoutMs + 15_000, `outcome of task ${id}`, from) as unknown as ContinuityOutcome
  }
}
