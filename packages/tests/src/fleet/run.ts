import { performance } from 'node:perf_hooks'
import { setTimeout as delay } from 'node:timers/promises'
import { FaultProxy } from '../proxy.js'
import { table, verdict } from '../report.js'
import { Rng } from '../seed.js'
import { ConstellationProcess, freePort, startDevice, startServe, type Observed, type TaskOutcome } from './processes.js'

/** Options of {@link runFleet}. */
export interface FleetOptions {
  seed: number
  /** How long faults are injected, in ms. */
  durationMs: number
  /** Device processes (`aip device`). */
  devices: number
  /** Mean time between link cuts, in ms. */
  cutEveryMs: number
  /** Mean time between a device SIGKILL and its restart, in ms. */
  killEveryMs: number
  /** Server SIGKILLs (each followed by a restart on the same port), spread over the run. */
  serverKills: number
  /** Time between two tasks sent during the faults, in ms. */
  taskEveryMs: number
  /** How long the fleet may take to be whole again after the last fault (the verdict's bound), in ms. */
  recoveryBoundMs: number
  /** Echo tasks sent once the fleet is back: every one must complete. */
  finalTasks: number
  log?: (line: string) => void
}

/** What {@link runFleet} found. */
export interface FleetReport {
  ok: boolean
  violations: string[]
  /** Outcomes of the tasks sent during the faults, by outcome or rejection code. */
  outcomes: Record<string, number>
  faults: { cuts: number, deviceKills: number, serverKills: number }
  /** From the last fault to every device registered and the constellation connected to each, in ms. */
  recoveryMs: number
  finalCompleted: number
  text: string
}

const TOKEN = 'fleet-chaos'

/**
 * A mixed chaos run with real processes: an `aip serve`, `devices` `aip device` processes and a constellation
 * program, all through one fault proxy. During `durationMs`: a link cut every ~`cutEveryMs`, a device killed
 * (SIGKILL) and restarted every ~`killEveryMs`, `serverKills` server SIGKILLs with a restart on the same port,
 * and tasks sent all along. Then: how long until the fleet is whole again, and `finalTasks` echo tasks that must
 * all complete. Invariants: every task sent reaches one outcome, once; no device process exits unless killed;
 * no device is given up by the constellation; the fleet is back within `recoveryBoundMs`.
 */
export async function runFleet (options: FleetOptions): Promise<FleetReport> {
  const log = options.log ?? (() => {})
  const rng = new Rng(options.seed)
  const violations: string[] = []
  const faults = { cuts: 0, deviceKills: 0, serverKills: 0 }
  const port = await freePort()
  let serve = await startServe(port, TOKEN)
  const proxy = await FaultProxy.start(() => port)
  const url = `ws://127.0.0.1:${proxy.port}/ws?token=${TOKEN}`
  const ids = Array.from({ length: options.devices }, (_, i) => `dev${i + 1}`)
  const devices = new Map<string, Observed>()
  const retired: Observed[] = []
  let constellation: ConstellationProcess | undefined
  try {
    for (const id of ids) devices.set(id, startDevice(id, url))
    await Promise.all([...devices.values()].map((d) => d.waitFor((v) => v.state === 'registered', 30_000, 'registration')))
    constellation = ConstellationProcess.start(url, ids)
    const program = constellation
    await Promise.all(ids.map((id) => program.waitFor((v) => v.type === 'connected' && v.deviceId === id, 30_000, `${id} connected`)))
    log(`fleet up: ${ids.length} devices, server on ${port}, proxy on ${proxy.port}`)

    // Tasks during the faults.
    const sent: Array<Promise<TaskOutcome | Error>> = []
    const started = performance.now()
    const elapsed = (): number => performance.now() - started
    const taskLoop = (async () => {
      while (elapsed() < options.durationMs) {
        const request = rng.chance(0.5) ? 'echo {"chaos":true}' : `sleep {"ms":${rng.between(50, 300)}}`
        sent.push(program.task(rng.pick(ids), request, 15_000).catch((err: unknown) => err as Error))
        await delay(options.taskEveryMs)
      }
    })()

    // Faults.
    const serverKillAt = Array.from({ length: options.serverKills }, (_, i) => ((i + 1) * options.durationMs) / (options.serverKills + 1))
    let nextCut = rng.between(options.cutEveryMs / 2, options.cutEveryMs * 1.5)
    let nextKill = rng.between(options.killEveryMs / 2, options.killEveryMs * 1.5)
    while (elapsed() < options.durationMs) {
      const now = elapsed()
      if (serverKillAt.length > 0 && now >= (serverKillAt[0] as number)) {
        serverKillAt.shift()
        faults.serverKills++
        log(`${Math.round(now)} ms: server SIGKILL`)
        await serve.kill()
        await delay(rng.between(500, 2000))
        serve = await startServe(port, TOKEN)
        log(`${Math.round(elapsed())} ms: server back`)
      } else if (now >= nextKill) {
        const id = rng.pick(ids)
        const victim = devices.get(id) as Observed
        faults.deviceKills++
        log(`${Math.round(now)} ms: device ${id} SIGKILL`)
        await victim.kill()
        retired.push(victim)
        await delay(rng.between(100, 800))
        devices.set(id, startDevice(id, url))
        nextKill = elapsed() + rng.between(options.killEveryMs / 2, options.killEveryMs * 1.5)
      } else if (now >= nextCut) {
        if (proxy.inject('cut', rng.int(1000))) faults.cuts++
        nextCut = elapsed() + rng.between(options.cutEveryMs / 2, options.cutEveryMs * 1.5)
      }
      await delay(20)
    }
    await taskLoop
    const lastFault = performance.now()
    log(`faults over after ${Math.round(elapsed())} ms; waiting for the fleet`)

    // Recovery: every device registered (its own last state), the constellation connected to each.
    const registered = (d: Observed): boolean => {
      for (let i = d.values.length - 1; i >= 0; i--) {
        const state = (d.values[i] as Record<string, unknown>).state
        if (state !== undefined) return state === 'registered'
      }
      return false
    }
    const recoveryLimitMs = Math.max(options.recoveryBoundMs * 3, 30_000)
    while (performance.now() - lastFault < recoveryLimitMs && !([...devices.values()].every(registered) && ids.every((id) => ['connected', 'idle', 'busy'].includes(program.lastState(id) ?? '')))) {
      await delay(50)
    }
    const recoveryMs = performance.now() - lastFault
    if (recoveryMs > options.recoveryBoundMs) violations.push(`the fleet took ${Math.round(recoveryMs)} ms to be whole again (bound ${options.recoveryBoundMs} ms)`)

    const final = await Promise.all(Array.from({ length: options.finalTasks }, (_, i) => program.task(ids[i % ids.length] as string, `echo {"final":${i}}`, 15_000).catch((err: unknown) => err as Error)))
    const finalCompleted = final.filter((o) => !(o instanceof Error) && o.outcome === 'completed').length
    if (finalCompleted !== options.finalTasks) {
      violations.push(`${options.finalTasks - finalCompleted} of ${options.finalTasks} tasks sent after the recovery did not complete: ${JSON.stringify(final.filter((o) => o instanceof Error || o.outcome !== 'completed').slice(0, 3).map((o) => o instanceof Error ? o.message : o))}`)
    }

    // Invariants on the tasks sent during the faults.
    const outcomes: Record<string, number> = {}
    for (const outcome of await Promise.all(sent)) {
      if (outcome instanceof Error) {
        violations.push(`a task got no outcome: ${outcome.message}`)
        continue
      }
      const key = outcome.outcome === 'rejected' ? String(outcome.code) : outcome.outcome
      outcomes[key] = (outcomes[key] ?? 0) + 1
      if (outcome.ends !== 1) violations.push(`task ${outcome.id} ended ${outcome.ends} times`)
    }
    const duplicates = program.values.filter((v) => v.type === 'duplicate')
    if (duplicates.length > 0) violations.push(`${duplicates.length} tasks ended twice`)
    const givenUp = program.values.filter((v) => v.type === 'state' && v.to === 'failed')
    if (givenUp.length > 0) violations.push(`the constellation gave up ${givenUp.length} times: ${JSON.stringify(givenUp.slice(0, 3))}`)
    if (!program.alive) violations.push('the constellation program exited')
    for (const [id, device] of devices) {
      if (!device.alive) violations.push(`device ${id} exited on its own`)
      if (device.values.some((v) => v.state === 'stopped')) violations.push(`device ${id} stopped`)
    }
    for (const device of retired) {
      if (device.values.some((v) => v.state === 'stopped')) violations.push(`${device.name} stopped before it was killed`)
    }

    const text = [
      `seed=${options.seed} durationMs=${options.durationMs} devices=${options.devices}`,
      table('faults', faults),
      table(`outcomes of ${sent.length} tasks sent during the faults`, outcomes),
      table('recovery', { 'fleet whole again after the last fault (ms)': Math.round(recoveryMs), [`final echo tasks completed (of ${options.finalTasks})`]: finalCompleted }),
      verdict(violations)
    ].join('\n')
    return { ok: violations.length === 0, violations, outcomes, faults, recoveryMs, finalCompleted, text }
  } finally {
    // Whatever failed, no process outlives the run.
    await constellation?.kill()
    for (const device of devices.values()) await device.kill()
    await serve.kill()
    await proxy.close()
  }
}
