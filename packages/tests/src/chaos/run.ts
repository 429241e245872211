import { ConstellationEndpoint } from '@aip/constellation'
import { DeviceClientEndpoint } from '@aip/device-client'
import { ReconnectionStrategy } from '@aip/resilience'
import { FaultProxy } from '../proxy.js'
import { sleep, table, verdict, within } from '../report.js'
import { Rng } from '../seed.js'
import { AipServer, testAgent } from '../server.js'

/** Sizes and pacing of one chaos run. */
export interface ChaosOptions {
  seed: number
  tasks: number
  devices: number
  constellations: number
  /** Probability, per submitted task, that one proxy or device fault is injected. */
  faultRate?: number
  /** Server restarts, spread evenly over the run. */
  serverRestarts?: number
  /** Tasks in flight at once. */
  maxInFlight?: number
  /** Deadline of each task at its constellation (queue wait included). */
  taskTimeoutMs?: number
  /** Progress lines (every 10 %). */
  log?: (line: string) => void
}

export type TerminalState = 'completed' | 'failed' | 'timed_out' | 'cancelled'

interface TaskTrack {
  taskId: string
  constellation: string
  deviceId: string
  request: string
  history: string[]
  settles: number
  ends: number
  serverEnds: number
  state: TerminalState | null
  reason: string | null
}

export interface ChaosReport {
  seed: number
  ok: boolean
  durationMs: number
  submitted: number
  terminal: Record<TerminalState, number>
  faults: Record<string, number>
  lost: number
  duplicated: number
  pendingAtConstellations: number
  pendingAtServer: number
  violations: string[]
  /** Full histories of the violating tasks (at most 20). */
  histories: string[]
  text: string
}

const FAILURE_CODES = new Set([
  'AIP_ERR_CONSTELLATION_TASK_REFUSED', 'AIP_ERR_CONSTELLATION_DEVICE_DISCONNECTED', 'AIP_ERR_CONSTELLATION_NOT_CONNECTED',
  'AIP_ERR_CONSTELLATION_QUEUE_FULL'
])

/**
 * 10,000 tasks (at full size) over devices and constellations that all talk to the server through a TCP fault
 * proxy, while devices are killed and restarted, connections are cut, delayed, stalled half-open and dropped
 * mid-frame, and the server restarts on its port. Every task must reach exactly one terminal state.
 */
export async function run (options: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now()
  const rng = new Rng(options.seed)
  const faultRate = options.faultRate ?? 0.02
  const restarts = options.serverRestarts ?? 2
  const maxInFlight = options.maxInFlight ?? options.devices * 2
  const taskTimeoutMs = options.taskTimeoutMs ?? 8000
  const log = options.log ?? (() => {})
  const faults: Record<string, number> & { deviceKill: number, serverRestart: number } = { deviceKill: 0, cut: 0, delay: 0, stall: 0, dropMidFrame: 0, serverRestart: 0 }
  const tracks = new Map<string, TaskTrack>()
  const t0 = Date.now()
  const note = (track: TaskTrack | undefined, event: string): void => { track?.history.push(`+${Date.now() - t0}ms ${event}`) }

  const server = await AipServer.start({
    agent: testAgent,
    pingIntervalMs: 500,
    takeoverProbeMs: 300,
    commandTimeoutMs: 4000,
    registrationTimeoutMs: 3000,
    maxResults: Math.max(10_000, options.tasks * 2)
  })
  const serverEnd = (record: { sessionId: string, status: string, error: string | null }): void => {
    const taskId = record.sessionId.split('@')[1] ?? ''
    const track = tracks.get(taskId)
    if (track === undefined) return
    track.serverEnds++
    note(track, `server TASK_END ${record.status}${record.error === null ? '' : ` (${record.error})`}`)
  }
  let unsubscribe = server.aip.on('taskEnd', serverEnd)
  const proxy = await FaultProxy.start(() => server.port)
  const url = `ws://127.0.0.1:${proxy.port}/ws`

  // Devices: real DeviceClientEndpoints through the proxy.
  const devices = new Map<string, DeviceClientEndpoint>()
  const background = new Set<Promise<unknown>>()
  const track = <T>(promise: Promise<T>): void => {
    const p = promise.catch(() => {}).finally(() => background.delete(p))
    background.add(p)
  }
  const makeDevice = (id: string): DeviceClientEndpoint => new DeviceClientEndpoint({
    wsUrl: url,
    clientId: id,
    platform: 'linux',
    heartbeatIntervalMs: 1000,
    maxMissedHeartbeats: 2,
    pingIntervalMs: 300,
    deadAfterMs: 1500,
    timeoutMs: 3000,
    reconnectionStrategy: new ReconnectionStrategy({ maxRetries: Infinity, initialBackoffMs: 20, maxBackoffMs: 300, random: rng.next }),
    tools: {
      echo: {
        handler: async (params, ctx) => {
          const slow = Number(params.slow ?? 0)
          if (slow > 0) await sleep(slow)
          ctx.signal.throwIfAborted()
          return params
        }
      }
    }
  })
  const flags = { stopping: false, inFlight: 0 }
  // Every device instance made, including one a later restart of the same id replaced: all are stopped at the end.
  const created = new Set<DeviceClientEndpoint>()
  const startDevice = async (id: string): Promise<void> => {
    // A first start() may be refused while the server still holds the previous connection: try again.
    while (!flags.stopping) {
      const device = makeDevice(id)
      devices.set(id, device)
      created.add(device)
      try {
        await device.start()
        return
      } catch {
        await device.stop()
        await sleep(50 + rng.int(100))
      }
    }
  }
  const deviceIds = Array.from({ length: options.devices }, (_, i) => `dev${i}`)
  await Promise.all(deviceIds.map((id) => startDevice(id)))

  // Constellations: each connects to every device.
  const constellations: ConstellationEndpoint[] = []
  for (let k = 0; k < options.constellations; k++) {
    const name = `c${k}`
    const constellation = new ConstellationEndpoint({
      taskName: name,
      taskTimeoutMs,
      heartbeatIntervalMs: 500,
      maxMissedHeartbeats: 2,
      connectTimeoutMs: 2000,
      registrationTimeoutMs: 2000,
      maxConcurrentTasks: 2,
      reconnectionStrategy: { maxRetries: Infinity, initialBackoffMs: 20, maxBackoffMs: 300, random: rng.next }
    })
    constellation.on('taskSent', ({ taskId }) => note(tracks.get(taskId), `${name}: TASK sent`))
    constellation.on('taskAck', ({ taskId }) => note(tracks.get(taskId), `${name}: acked`))
    constellation.on('taskEnd', ({ taskId, outcome, error }) => {
      const t = tracks.get(taskId)
      if (t === undefined) return
      t.ends++
      note(t, `${name}: taskEnd ${outcome}${error === undefined ? '' : ` (${String((error as Error).message ?? error)})`}`)
    })
    constellation.on('unmatched', ({ deviceId, reason, message }) => {
      const sid = (message as { session_id?: string | null }).session_id
      const taskId = typeof sid === 'string' ? sid.split('@')[1] ?? '' : ''
      note(tracks.get(taskId), `${name}: unmatched ${message.type} from ${deviceId} (${reason})`)
    })
    await Promise.all(deviceIds.map((deviceId) => constellation.connectToDevice({ deviceId, serverUrl: url, maxRetries: Infinity })))
    constellations.push(constellation)
  }
  log(`chaos: ${options.devices} devices and ${options.constellations} constellations connected through the proxy`)

  // Faults.
  const inject = async (): Promise<void> => {
    const kind = rng.pick(['deviceKill', 'cut', 'cut', 'delay', 'stall', 'dropMidFrame'] as const)
    if (kind === 'deviceKill') {
      const id = rng.pick(deviceIds)
      const device = devices.get(id)
      const downMs = rng.between(20, 400)
      faults.deviceKill++
      track((async () => {
        await device?.stop()
        await sleep(downMs)
        await startDevice(id)
      })())
      return
    }
    const index = rng.int(1_000_000)
    const delayMs = rng.between(20, 200)
    if (proxy.inject(kind, index, delayMs)) {
      faults[kind] = (faults[kind] ?? 0) + 1
      if (kind === 'delay') {
        const restore = rng.between(300, 1500)
        setTimeout(() => { for (const c of proxy.connections) c.delayMs = 0 }, restore).unref()
      }
    }
  }
  const restartAt = new Set(Array.from({ length: restarts }, (_, i) => Math.floor((options.tasks * (i + 1)) / (restarts + 1))))

  // Tasks.
  const settled: Array<Promise<void>> = []
  for (let i = 0; i < options.tasks; i++) {
    while (flags.inFlight >= maxInFlight) await sleep(2)
    if (restartAt.has(i)) {
      faults.serverRestart++
      unsubscribe()
      await server.restart(rng.between(0, 100))
      unsubscribe = server.aip.on('taskEnd', serverEnd)
      log(`chaos: server restarted at task ${i}`)
    }
    if (rng.chance(faultRate)) await inject()
    const k = rng.int(constellations.length)
    const constellation = constellations[k] as ConstellationEndpoint
    const deviceId = rng.pick(deviceIds)
    const taskId = `t${i}`
    const request = `steps=${rng.between(1, 3)}${rng.chance(0.05) ? ' fail' : ''}${rng.chance(0.05) ? ` slow=${rng.between(10, 300)}` : ''}`
    const t: TaskTrack = { taskId, constellation: `c${k}`, deviceId, request, history: [], settles: 0, ends: 0, serverEnds: 0, state: null, reason: null }
    tracks.set(taskId, t)
    const abort = rng.chance(0.02) ? new AbortController() : undefined
    const abortAfter = rng.between(0, 100)
    const timeoutMs = rng.chance(0.02) ? rng.between(5, 60) : undefined
    note(t, `submitted by c${k} to ${deviceId}: "${request}"${abort === undefined ? '' : `, abort after ${abortAfter} ms`}${timeoutMs === undefined ? '' : `, timeout ${timeoutMs} ms`}`)
    if (abort !== undefined) setTimeout(() => abort.abort(), abortAfter).unref()
    flags.inFlight++
    settled.push(constellation.sendTaskToDevice(deviceId, { request, taskId, timeoutMs, signal: abort?.signal }).then((end) => {
      t.settles++
      t.state = end.status === 'completed' ? 'completed' : 'failed'
      t.reason = end.error
      note(t, `resolved ${end.status}${end.error === null ? '' : ` (${end.error})`}`)
    }, (err: { code?: string, message?: string }) => {
      t.settles++
      const code = err.code ?? 'no code'
      note(t, `rejected ${code}: ${err.message ?? String(err)}`)
      if (code === 'AIP_ERR_TIMEOUT') t.state = 'timed_out'
      else if (code === 'AIP_ERR_CONSTELLATION_TASK_ABORTED') t.state = 'cancelled'
      else if (FAILURE_CODES.has(code)) t.state = 'failed'
      else t.state = null
      t.reason = `${code}: ${err.message ?? ''}`
    }).finally(() => { flags.inFlight-- }))
    if (i > 0 && i % Math.max(1, Math.floor(options.tasks / 10)) === 0) log(`chaos: ${i}/${options.tasks} submitted, ${flags.inFlight} in flight`)
  }

  // Drain: every task has a deadline, so every promise settles within it.
  const drained = await within(Promise.all(settled).then(() => true), taskTimeoutMs + 15_000, false)
  if (!drained) log('chaos: some tasks did not settle within their deadline')
  await sleep(300) // a late duplicate would show up by now
  // Nothing pending: constellation queues and the server's sessions drain (a session outlives a task that timed
  // out at its constellation only until its COMMAND timeout).
  const quiet = Date.now() + 10_000
  const pendingConstellations = (): number => constellations.reduce((n, c) => n + c.listDevices().reduce((m, d) => m + d.queued + d.running, 0), 0)
  while (Date.now() < quiet && (pendingConstellations() > 0 || server.aip.sessionCount > 0)) await sleep(50)
  const pendingAtConstellations = pendingConstellations()
  const pendingAtServer = server.aip.sessionCount

  const terminal: Record<TerminalState, number> = { completed: 0, failed: 0, timed_out: 0, cancelled: 0 }
  const violations: string[] = []
  const bad = new Set<TaskTrack>()
  let lost = 0
  let duplicated = 0
  for (const t of tracks.values()) {
    if (t.settles === 0) { lost++; bad.add(t); violations.push(`${t.taskId}: lost (no terminal state)`); continue }
    if (t.settles > 1 || t.ends > 1 || t.serverEnds > 1) {
      duplicated++
      bad.add(t)
      violations.push(`${t.taskId}: duplicated (${t.settles} settles, ${t.ends} taskEnd events, ${t.serverEnds} server TASK_ENDs)`)
    }
    if (t.state === null) { bad.add(t); violations.push(`${t.taskId}: not an allowed terminal state (${t.reason ?? ''})`); continue }
    if (t.state === 'failed' && (t.reason === null || t.reason === '')) { bad.add(t); violations.push(`${t.taskId}: failed without a reason`) }
    if (t.ends !== 1) { bad.add(t); violations.push(`${t.taskId}: ${t.ends} taskEnd events`) }
    terminal[t.state]++
  }
  if (pendingAtConstellations > 0) violations.push(`${pendingAtConstellations} tasks still queued or running at the constellations`)
  if (pendingAtServer > 0) violations.push(`${pendingAtServer} sessions still running at the server`)
  const reasons: Record<string, number> = {}
  for (const t of tracks.values()) {
    if (t.state !== 'failed' || t.reason === null) continue
    const key = t.reason.replace(/'[^']*'/g, "'…'").replace(/\b(dev|t|c)\d+\b/g, '$1*').slice(0, 90)
    reasons[key] = (reasons[key] ?? 0) + 1
  }
  const topReasons = Object.fromEntries(Object.entries(reasons).sort((a, b) => b[1] - a[1]).slice(0, 8))
  const connectedDevices = deviceIds.filter((id) => devices.get(id)?.isConnected() === true).length

  flags.stopping = true
  await Promise.all(constellations.map((c) => c.stop()))
  await Promise.all([...background])
  await Promise.all([...created].map((d) => d.stop()))
  await server.close()
  await proxy.close()

  const histories = [...bad].slice(0, 20).map((t) => [`task ${t.taskId} (${t.constellation} -> ${t.deviceId}, "${t.request}"):`, ...t.history.map((h) => `    ${h}`)].join('\n'))
  const durationMs = Date.now() - started
  const text = [
    `chaos seed=${options.seed} tasks=${options.tasks} devices=${options.devices} constellations=${options.constellations} duration=${(durationMs / 1000).toFixed(1)}s`,
    table('terminal states', { ...terminal, lost, duplicated, 'pending (constellations)': pendingAtConstellations, 'pending (server)': pendingAtServer }),
    table('failure reasons (top)', topReasons),
    table('faults injected', faults),
    `devices registered at the end: ${connectedDevices}/${options.devices}`,
    verdict(violations.slice(0, 50)),
    ...(histories.length > 0 ? ['histories of violating tasks:', ...histories] : []),
    `replay: pnpm chaos --seed ${options.seed} (timings still vary)`
  ].join('\n')
  return {
    seed: options.seed,
    ok: violations.length === 0,
    durationMs,
    submitted: tracks.size,
    terminal,
    faults,
    lost,
    duplicated,
    pendingAtConstellations,
    pendingAtServer,
    violations,
    histories,
    text
  }
}
