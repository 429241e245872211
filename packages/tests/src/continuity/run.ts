import { setTimeout as delay } from 'node:timers/promises'
import { FaultProxy } from '../proxy.js'
import { table, verdict } from '../report.js'
import { Rng } from '../seed.js'
import { freePort, startServe, type Observed } from '../fleet/processes.js'
import { ContinuityConstellation, startContinuityDevice, type ContinuityOutcome } from './processes.js'

/** Options of {@link runContinuity}. */
export interface ContinuityOptions {
  seed: number
  /** How long tasks are sent and links cut, in ms. */
  durationMs: number
  /** Device processes, each with its own link (fault proxy) to the server; the constellation has one more per device. */
  devices: number
  /** The server's `--resume-window`, in ms. 0 runs the reference behaviour (a baseline: nothing is expected to survive a cut). */
  resumeWindowMs: number
  /** Mean time between two link outages, in ms. */
  cutEveryMs: number
  /** Shortest and longest outage, in ms (keep the longest well under the window: the clients back off). */
  cutMinMs: number
  cutMaxMs: number
  /** Actions per task (one COMMAND of 1..maxSteps `work` calls). */
  maxSteps: number
  /** Shortest and longest `work` call, in ms. */
  stepMinMs: number
  stepMaxMs: number
  /** The deadline of every task (`sendTaskToDevice`'s `timeoutMs`). */
  taskTimeoutMs: number
  /**
   * Device processes killed (SIGKILL) and started again with the same id, spread over the run (default 0). A task
   * in flight on a restarted device may fail (its action's outcome is unknown), but no call may run again.
   */
  deviceRestarts?: number
  /**
   * Share of the tasks whose signal aborts at a random time while they run (default 0): they may complete (the end
   * came first) or reject with `AIP_ERR_CONSTELLATION_TASK_ABORTED`, and the server is told to cancel them.
   */
  abortShare?: number
  /** Ask for the continuity extension in the clients (default true). */
  continuity?: boolean
  log?: (line: string) => void
}

/** What {@link runContinuity} found. */
export interface ContinuityReport {
  ok: boolean
  violations: string[]
  counts: {
    tasks: number
    /** Outages injected, by side: the device's link, the constellation's link to it, or both. */
    outages: number
    /** Connections cut by the outages. */
    cuts: number
    /** Device processes killed and started again. */
    restarts: number
    /** Tasks whose signal aborted while they ran. */
    aborted: number
    /** Of those, tasks whose running tool was stopped on the device (the cancel reached it). */
    abortedStoppedOnDevice: number
    /** The most sessions whose tools ran at once on one device (its constellation slots: 1). */
    maxConcurrentSessions: number
    /** Tasks during which an outage hit their device's links. */
    hit: number
    /** Of those, tasks whose clients all came back within the window (they must complete). */
    hitWithinWindow: number
    /** Tasks hit by an outage that completed. */
    hitCompleted: number
    completed: number
    /** `work` executions on the devices. */
    executions: number
    /** (session, call) pairs executed more than once on a device. */
    duplicates: number
  }
  /** Outcomes by `completed`, `failed`, or the rejection code. */
  outcomes: Record<string, number>
  /** The longest time a client was away, in ms. */
  longestAwayMs: number
  text: string
}

const TOKEN = 'continuity-chaos'
/** An error text cut for the report's tables (ids inside stay, the rest is cut). */
const clip = (text: string): string => text.length > 110 ? `${text.slice(0, 107)}...` : text
/** An error text without the ids of its task and device, so that the report can count the texts. */
const general = (text: string): string => text.replace(/\bt\d+\b/g, '<task>').replace(/\bcdev\d+\b/g, '<device>')
/** A client away for longer than this share of the window may legitimately lose its tasks (backoff, timing). */
const WINDOW_SHARE = 0.9
type Side = 'device' | 'constellation' | 'both'

interface Task {
  id: number
  device: string
  sessionId: string
  steps: number
  sentAt: number
  outcome?: ContinuityOutcome
  lost?: string
  /** When its signal aborts, after it was sent (ms). */
  abortAfterMs?: number
}

interface Outage { device: string, side: Side, at: number, ms: number }
interface Restart { device: string, at: number }
interface Away { device: string, side: 'device' | 'constellation', from: number, to: number }

/**
 * The continuity chaos run, with real processes: one `aip serve --resume-window`, `devices` device programs
 * (`work` tool of 300–800 ms that counts its executions) and a constellation program, every link through its own
 * fault proxy. For `durationMs` each device is kept busy with long tasks (one COMMAND of 1..`maxSteps` actions)
 * while, every ~`cutEveryMs`, the device's link, the constellation's link to it, or both, go down for
 * `cutMinMs`..`cutMaxMs` (every connection cut, reconnections refused). Invariants: every task sent has exactly one
 * outcome, in bounded time; every task whose clients were never away longer than the window completes; a completed
 * task ran each of its actions exactly once; no (session, call) ran twice on a device; no process exits.
 */
export async function runContinuity (options: ContinuityOptions): Promise<ContinuityReport> {
  const log = options.log ?? (() => {})
  const continuity = options.continuity ?? true
  const rng = new Rng(options.seed)
  const violations: string[] = []
  const port = await freePort()
  const serve = await startServe(port, TOKEN, ['--resume-window', String(options.resumeWindowMs)])
  const ids = Array.from({ length: options.devices }, (_, i) => `cdev${i + 1}`)
  const deviceProxies = new Map<string, FaultProxy>()
  const constellationProxies = new Map<string, FaultProxy>()
  const devices = new Map<string, Observed>()
  /** Device processes killed on purpose (their lines still count). */
  const retired: Array<{ id: string, process: Observed }> = []
  let constellation: ContinuityConstellation | undefined
  const url = (proxy: FaultProxy): string => `ws://127.0.0.1:${proxy.port}/ws?token=${TOKEN}`
  try {
    for (const id of ids) {
      deviceProxies.set(id, await FaultProxy.start(() => port))
      constellationProxies.set(id, await FaultProxy.start(() => port))
    }
    for (const id of ids) devices.set(id, startContinuityDevice(id, url(deviceProxies.get(id) as FaultProxy), continuity))
    await Promise.all([...devices.values()].map((d) => d.waitFor((v) => v.state === 'registered', 30_000, 'registration')))
    const program = ContinuityConstellation.start(ids.map((deviceId) => ({ deviceId, serverUrl: url(constellationProxies.get(deviceId) as FaultProxy) })), continuity)
    constellation = program
    await Promise.all(ids.map((id) => program.waitFor((v) => v.type === 'connected' && v.deviceId === id, 30_000, `${id} connected`)))
    log(`up: ${ids.length} devices, server on ${port}, resume window ${options.resumeWindowMs} ms`)

    // Tasks: each device is kept busy, one long task after the other.
    const tasks: Task[] = []
    let nextId = 0
    const started = Date.now()
    const elapsed = (): number => Date.now() - started
    const loops = ids.map(async (device) => {
      while (elapsed() < options.durationMs) {
        const steps = rng.between(1, options.maxSteps)
        const plan = Array.from({ length: steps }, () => ({ tool_name: 'work', parameters: { ms: rng.between(options.stepMinMs, options.stepMaxMs) } }))
        const task: Task = { id: ++nextId, device, sessionId: `continuity-${options.seed}-${nextId}`, steps, sentAt: Date.now() }
        const totalMs = plan.reduce((sum, step) => sum + step.parameters.ms, 0)
        if (rng.chance(options.abortShare ?? 0)) task.abortAfterMs = rng.between(100, totalMs)
        tasks.push(task)
        try {
          task.outcome = await program.task(task.id, device, JSON.stringify(plan), task.sessionId, options.taskTimeoutMs, task.abortAfterMs)
        } catch (err) {
          task.lost = (err as Error).message
          if (!program.alive) return
        }
        await delay(rng.between(0, 150))
      }
    })

    // Outages: a random device's link, its constellation link, or both, down for a while.
    const outages: Outage[] = []
    const restarts: Restart[] = []
    const restartCount = options.deviceRestarts ?? 0
    const restartAt = Array.from({ length: restartCount }, (_, i) => ((i + 1) * options.durationMs) / (restartCount + 1))
    let cuts = 0
    let nextOutage = rng.between(options.cutEveryMs / 2, options.cutEveryMs * 1.5)
    while (elapsed() < options.durationMs) {
      if (restartAt.length > 0 && elapsed() >= (restartAt[0] as number)) {
        restartAt.shift()
        const device = rng.pick(ids)
        const victim = devices.get(device) as Observed
        restarts.push({ device, at: Date.now() })
        log(`${elapsed()} ms: device ${device} SIGKILL`)
        await victim.kill()
        retired.push({ id: device, process: victim })
        await delay(rng.between(100, 800))
        devices.set(device, startContinuityDevice(device, url(deviceProxies.get(device) as FaultProxy), continuity))
      } else if (elapsed() >= nextOutage) {
        // A link that is down already is left alone: outages add up, and a client may then stay away past the window.
        const up = ids.filter((id) => !(deviceProxies.get(id) as FaultProxy).down && !(constellationProxies.get(id) as FaultProxy).down)
        const device = up.length > 0 ? rng.pick(up) : rng.pick(ids)
        const side = rng.pick<Side>(['device', 'constellation', 'both'])
        const ms = rng.between(options.cutMinMs, options.cutMaxMs)
        if (side !== 'constellation') cuts += (deviceProxies.get(device) as FaultProxy).outage(ms)
        if (side !== 'device') cuts += (constellationProxies.get(device) as FaultProxy).outage(ms)
        outages.push({ device, side, at: Date.now(), ms })
        nextOutage = elapsed() + rng.between(options.cutEveryMs / 2, options.cutEveryMs * 1.5)
      }
      await delay(20)
    }
    log(`${outages.length} outages in ${elapsed()} ms; waiting for the last tasks`)
    await Promise.all(loops)
    const end = Date.now()
    // Executions still running finish on their own (each is at most stepMaxMs); their lines are then in.
    await delay(options.stepMaxMs + 200)

    // When was each client away (from its own state lines)?
    const aways: Away[] = []
    const processesOf = (id: string): Observed[] => [...retired.filter((r) => r.id === id).map((r) => r.process), devices.get(id) as Observed]
    for (const id of ids) {
      let from: number | null = null
      let seen = false
      // A restart: away from the kill to the new process's registration.
      const lines = processesOf(id).flatMap((p, i, all) => i < all.length - 1 ? [...p.values, { type: 'state', state: 'killed', at: restarts.filter((r) => r.device === id)[i]?.at ?? 0 }] : p.values)
      for (const v of lines) {
        if (v.type !== 'state') continue
        if (v.state === 'registered') {
          if (from !== null) aways.push({ device: id, side: 'device', from, to: Number(v.at) })
          from = null
          seen = true
        } else if (seen && from === null) {
          from = Number(v.at)
        }
      }
      if (from !== null) aways.push({ device: id, side: 'device', from, to: end })
    }
    const connectedStates = ['connected', 'idle', 'busy']
    for (const id of ids) {
      let from: number | null = null
      let seen = false
      for (const v of program.values) {
        if (v.type !== 'state' || v.deviceId !== id) continue
        if (connectedStates.includes(v.to as string)) {
          if (from !== null) aways.push({ device: id, side: 'constellation', from, to: Number(v.at) })
          from = null
          seen = true
        } else if (seen && from === null) {
          from = Number(v.at)
        }
      }
      if (from !== null) aways.push({ device: id, side: 'constellation', from, to: end })
    }
    const longestAway = aways.reduce<Away | null>((longest, a) => longest === null || a.to - a.from > longest.to - longest.from ? a : longest, null)
    const longestAwayMs = longestAway === null ? 0 : longestAway.to - longestAway.from
    const beyondWindow = aways.filter((a) => a.to - a.from > options.resumeWindowMs * WINDOW_SHARE).length

    // Executions on the devices.
    const executions = new Map<string, number>()
    const executionsBySession = new Map<string, Set<string>>()
    let executionCount = 0
    for (const id of ids) {
      for (const v of processesOf(id).flatMap((p) => p.values)) {
        if (v.type !== 'exec') continue
        executionCount++
        const key = `${id}|${String(v.session)}|${String(v.call)}`
        executions.set(key, (executions.get(key) ?? 0) + 1)
        const calls = executionsBySession.get(String(v.session)) ?? new Set<string>()
        calls.add(String(v.call))
        executionsBySession.set(String(v.session), calls)
      }
    }
    // Sessions whose tools ran at once on one device: each call from its start to its end (or its process's kill).
    let maxConcurrentSessions = 0
    const stoppedSessions = new Set<string>()
    for (const id of ids) {
      const processes = processesOf(id)
      const kills = restarts.filter((r) => r.device === id).map((r) => r.at)
      const edges: Array<{ at: number, session: string, delta: 1 | -1 }> = []
      processes.forEach((p, i) => {
        const open = new Map<string, { at: number, session: string }>()
        for (const v of p.values) {
          const key = `${String(v.session)}|${String(v.call)}`
          if (v.type === 'exec') open.set(key, { at: Number(v.at), session: String(v.session) })
          if (v.type === 'done' && open.has(key)) {
            const start = open.get(key) as { at: number, session: string }
            open.delete(key)
            edges.push({ at: start.at, session: start.session, delta: 1 }, { at: Number(v.at), session: start.session, delta: -1 })
            if (v.outcome === 'aborted') stoppedSessions.add(start.session)
          }
        }
        const killedAt = kills[i] ?? end
        for (const start of open.values()) edges.push({ at: start.at, session: start.session, delta: 1 }, { at: killedAt, session: start.session, delta: -1 })
      })
      // Ends before starts at the same instant: a call that ends as the next begins does not overlap it.
      edges.sort((a, b) => a.at - b.at || a.delta - b.delta)
      const active = new Map<string, number>()
      for (const edge of edges) {
        const n = (active.get(edge.session) ?? 0) + edge.delta
        if (n === 0) active.delete(edge.session)
        else active.set(edge.session, n)
        maxConcurrentSessions = Math.max(maxConcurrentSessions, active.size)
      }
    }

    const duplicated = [...executions].filter(([, n]) => n > 1)
    if (duplicated.length > 0) violations.push(`${duplicated.length} calls ran more than once on a device: ${duplicated.slice(0, 3).map(([k, n]) => `${k} x${n}`).join(', ')}`)

    // Every task: one outcome; completed when its clients came back within the window; each action run once.
    const outcomes: Record<string, number> = {}
    let hit = 0
    let hitWithinWindow = 0
    let onRestarted = 0
    let hitCompleted = 0
    let aborted = 0
    let abortedStoppedOnDevice = 0
    const abortLines = new Set(program.values.filter((v) => v.type === 'abort').map((v) => Number(v.id)))
    let completed = 0
    const overlaps = (task: Task, from: number, to: number): boolean => from <= (task.outcome?.at ?? end) && to >= task.sentAt
    const settles = new Map<number, number>()
    for (const v of program.values) if (v.type === 'task') settles.set(Number(v.id), (settles.get(Number(v.id)) ?? 0) + 1)
    const expectResume = options.resumeWindowMs > 0 && continuity
    const notCompleted: string[] = []
    /** Why the tasks that did not complete did not, with whether their clients were away too long. */
    const reasons: Record<string, number> = {}
    for (const task of tasks) {
      if (task.outcome === undefined) {
        violations.push(`task ${task.id} on ${task.device} has no outcome: ${task.lost ?? 'unknown'}`)
        continue
      }
      const key = task.outcome.outcome === 'rejected' ? String(task.outcome.code) : task.outcome.outcome
      outcomes[key] = (outcomes[key] ?? 0) + 1
      if ((settles.get(task.id) ?? 0) !== 1) violations.push(`task ${task.id} settled ${settles.get(task.id) ?? 0} times`)
      if (task.outcome.ends > 1) violations.push(`task ${task.id} ended ${task.outcome.ends} times`)
      const wasHit = outages.some((o) => o.device === task.device && overlaps(task, o.at, o.at + o.ms))
      const restarted = restarts.some((r) => r.device === task.device && overlaps(task, r.at, r.at))
      const abortedTask = abortLines.has(task.id)
      if (abortedTask) {
        aborted++
        if (stoppedSessions.has(task.sessionId)) abortedStoppedOnDevice++
        if (task.outcome.outcome !== 'completed' && task.outcome.code !== 'AIP_ERR_CONSTELLATION_TASK_ABORTED' && !restarted) {
          violations.push(`task ${task.id} was aborted and settled as ${key}, not AIP_ERR_CONSTELLATION_TASK_ABORTED`)
        }
      }
      const tooLong = restarted || aways.some((a) => a.device === task.device && overlaps(task, a.from, a.to) && a.to - a.from > options.resumeWindowMs * WINDOW_SHARE)
      if (wasHit) hit++
      if (restarted) onRestarted++
      if (wasHit && !tooLong) hitWithinWindow++
      const calls = executionsBySession.get(task.sessionId)?.size ?? 0
      if (task.outcome.outcome === 'completed') {
        completed++
        if (wasHit) hitCompleted++
        if (calls !== task.steps) violations.push(`task ${task.id} completed with ${calls} of its ${task.steps} actions run`)
      } else {
        const cause = abortedTask ? 'aborted' : restarted ? 'device restarted' : !expectResume ? 'no resume' : tooLong ? 'away longer than the window' : 'back within the window'
        const why = `${cause}: ${key} ${clip(general(task.outcome.error ?? ''))}`.trim()
        reasons[why] = (reasons[why] ?? 0) + 1
        if (expectResume && !tooLong && !abortedTask) notCompleted.push(`${task.id} on ${task.device}${wasHit ? ' (hit)' : ''}: ${key} ${task.outcome.error ?? ''}`.trim())
      }
    }
    if (notCompleted.length > 0) violations.push(`${notCompleted.length} tasks whose clients came back within the window did not complete: ${notCompleted.slice(0, 5).join('; ')}`)
    const duplicates = program.values.filter((v) => v.type === 'duplicate')
    if (duplicates.length > 0) violations.push(`${duplicates.length} tasks had two taskEnd events`)
    if (!program.alive) violations.push('the constellation program exited')
    if (!serve.alive) violations.push('the server exited')
    for (const [id, device] of devices) if (!device.alive) violations.push(`device ${id} exited`)

    const sides: Record<string, number> = { device: 0, constellation: 0, both: 0 }
    for (const o of outages) sides[o.side] = (sides[o.side] ?? 0) + 1
    const counts = { tasks: tasks.length, outages: outages.length, cuts, restarts: restarts.length, aborted, abortedStoppedOnDevice, maxConcurrentSessions, hit, hitWithinWindow, hitCompleted, completed, executions: executionCount, duplicates: duplicated.length }
    const text = [
      `seed=${options.seed} durationMs=${options.durationMs} devices=${options.devices} resumeWindowMs=${options.resumeWindowMs} continuity=${String(continuity)} abortShare=${options.abortShare ?? 0}`,
      table('faults', {
        'outages (device link)': sides.device ?? 0,
        'outages (constellation link)': sides.constellation ?? 0,
        'outages (both links)': sides.both ?? 0,
        'connections cut': cuts,
        'device processes killed and restarted': restarts.length,
        'longest time a client was away (ms)': longestAway === null ? 0 : `${longestAwayMs} (${longestAway.side} link of ${longestAway.device})`,
        [`clients away longer than ${WINDOW_SHARE * 100} % of the window`]: beyondWindow
      }),
      table(`outcomes of ${tasks.length} tasks`, outcomes),
      ...(Object.keys(reasons).length === 0 ? [] : [table('tasks that did not complete, by cause', reasons)]),
      table('continuity', {
        'tasks hit by an outage': hit,
        'of which every client came back within the window': hitWithinWindow,
        'tasks hit by an outage that completed': hitCompleted,
        'tasks in flight on a device process that was restarted': onRestarted,
        'tasks completed': completed,
        'tool executions on the devices': executionCount,
        'calls executed twice': duplicated.length,
        'tasks aborted while they ran': aborted,
        'of which the running tool was stopped on the device': abortedStoppedOnDevice,
        'most sessions running at once on one device': maxConcurrentSessions
      }),
      verdict(violations)
    ].join('\n')
    return { ok: violations.length === 0, violations, counts, outcomes, longestAwayMs, text }
  } finally {
    // Whatever failed, no process outlives the run.
    await constellation?.kill()
    for (const device of devices.values()) await device.kill()
    for (const { process } of retired) await process.kill()
    await serve.kill()
    for (const proxy of [...deviceProxies.values(), ...constellationProxies.values()]) await proxy.close()
  }
}
