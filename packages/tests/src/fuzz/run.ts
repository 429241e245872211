import WebSocket from 'ws'
import { decodeClientMessage } from '@aip/protocol'
import { RawWebSocket } from '../raw-ws.js'
import { mib, sleep, table, verdict, within } from '../report.js'
import { Rng } from '../seed.js'
import { ServerProcess, type ServerStats } from '../server-process.js'
import { FrameFuzzer, type FuzzFrame, type FuzzKind } from './frames.js'

/** Close codes a malformed frame may end its connection with (packages/device-server/README.md). */
export const DOCUMENTED_CLOSE_CODES: ReadonlySet<number> = new Set([1000, 1001, 1003, 1007, 1008, 1009, 4001, 4002, 4003, 4004])

export interface FuzzOptions {
  seed: number
  /** Fuzz frames sent (warm-up excluded). */
  frames: number
  /** Connections fuzzing at once. */
  workers?: number
  /** Frames in flight per connection before waiting for their answers. */
  window?: number
  /** The server's frame limit (oversize frames exceed it). */
  maxPayloadBytes?: number
  /** Share of frames sent as the first frame of a fresh connection, before registration. */
  preRegistrationShare?: number
  /** Connections that trickle a REGISTER and a malformed frame a few bytes at a time. */
  trickles?: number
  /** Allowed RSS growth of the server over the run (0.1: 10 %). */
  rssTolerance?: number
  log?: (line: string) => void
}

export interface FuzzReport {
  seed: number
  ok: boolean
  frames: number
  byKind: Record<string, number>
  outcomes: Record<string, number>
  closes: Record<string, number>
  control: { heartbeats: number, missed: number, maxLatencyMs: number }
  rssBefore: number
  rssAfter: number
  heapBefore: number
  heapAfter: number
  server: ServerStats | null
  violations: string[]
  text: string
}

interface Pending { frame: FuzzFrame, n: number, answers: Array<Record<string, unknown>> }

function preview (frame: FuzzFrame): string {
  const text = typeof frame.data === 'string' ? frame.data : frame.data.toString('latin1')
  return `${frame.kind} ${JSON.stringify(text.length > 160 ? `${text.slice(0, 160)}...(${text.length} chars)` : text)}`
}

/**
 * Fuzzes `/ws` of a fastify-aip server running in a child process. Invariants: the server never crashes nor
 * throws an unhandled error; each malformed frame on a live connection gets a correlated ERROR or ends that
 * connection with a documented close code; a control client keeps working; the server's RSS after the run is
 * within `rssTolerance` of its RSS before (after a warm-up).
 */
export async function run (options: FuzzOptions): Promise<FuzzReport> {
  const started = Date.now()
  const rng = new Rng(options.seed)
  const workers = options.workers ?? 8
  const window = options.window ?? 16
  const maxPayloadBytes = options.maxPayloadBytes ?? 64 * 1024
  const preShare = options.preRegistrationShare ?? 0.02
  const trickles = options.trickles ?? Math.max(2, Math.floor(options.frames / 2000))
  const tolerance = options.rssTolerance ?? 0.1
  const log = options.log ?? (() => {})
  const violations: string[] = []
  const violate = (text: string): void => { if (violations.length < 200) violations.push(text) }
  const byKind: Record<string, number> = {}
  const outcomes: Record<string, number> = { answeredWithError: 0, answeredCorrelated: 0, validAnswered: 0, closedAsExpected: 0, closedDocumented: 0, preRegistrationRefused: 0, preRegistrationAccepted: 0, trickled: 0 }
  const closes: Record<string, number> = {}
  const bump = (record: Record<string, number>, key: string): void => { record[key] = (record[key] ?? 0) + 1 }

  const server = await ServerProcess.start({ agent: 'fuzz', maxPayloadBytes, registrationTimeoutMs: 2000, pingIntervalMs: 5000, commandTimeoutMs: 200, maxResults: 1000 })
  const url = server.wsUrl
  const fuzzer = new FrameFuzzer(rng, maxPayloadBytes)
  let connectionSerial = 0

  // The control client: a device heartbeating every 100 ms throughout.
  const control = { heartbeats: 0, missed: 0, maxLatencyMs: 0 }
  const controlWs = new WebSocket(url)
  await new Promise<void>((resolve, reject) => { controlWs.once('open', () => resolve()); controlWs.once('error', reject) })
  const controlAnswers: Array<() => void> = []
  controlWs.on('message', () => controlAnswers.shift()?.())
  controlWs.send(JSON.stringify({ type: 'register', status: 'ok', client_type: 'device', client_id: 'control', metadata: { platform: 'linux' } }))
  await new Promise<void>((resolve) => controlAnswers.push(resolve))
  const controlState = { running: true }
  const controlLoop = (async () => {
    while (controlState.running) {
      const sentAt = Date.now()
      const answered = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 2000)
        controlAnswers.push(() => { clearTimeout(timer); resolve(true) })
      })
      controlWs.send(JSON.stringify({ type: 'heartbeat', status: 'ok', client_type: 'device', client_id: 'control' }))
      const ok = await answered
      control.heartbeats++
      if (!ok) { control.missed++; violate('the control client got no heartbeat answer within 2 s') } else control.maxLatencyMs = Math.max(control.maxLatencyMs, Date.now() - sentAt)
      await sleep(100)
    }
  })()

  /** One registered fuzz connection: sends up to `budget` frames, returns how many it used. */
  const fuzzConnection = async (budget: number, count: boolean): Promise<number> => {
    const clientId = `fz${++connectionSerial}`
    const ws = new WebSocket(url)
    ws.on('error', () => {})
    await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject) })
    let pending: Pending[] = []
    let onIdle: (() => void) | null = null
    const state: { close: { code: number } | null } = { close: null }
    const closed = new Promise<{ code: number }>((resolve) => ws.once('close', (code) => { state.close = { code }; resolve({ code }) }))
    let registered = false
    const registeredP = new Promise<boolean>((resolve) => {
      ws.on('message', (data, isBinary) => {
        if (!registered) { registered = true; resolve(!isBinary && JSON.parse(data.toString()).status === 'ok'); return }
        let frame: Record<string, unknown>
        try { frame = JSON.parse(data.toString()) as Record<string, unknown> } catch { violate(`server sent a non-JSON frame: ${data.toString().slice(0, 80)}`); return }
        if (frame.type === 'error' && typeof frame.error === 'string' && frame.error.startsWith('sentinel:')) {
          const n = Number(frame.error.slice(9))
          const head = pending.shift()
          if (head === undefined || head.n !== n) violate(`answers out of order on ${clientId}: sentinel ${n}, expected ${String(head?.n)}`)
          else if (count) judge(head)
          if (pending.length === 0) onIdle?.()
          return
        }
        pending[0]?.answers.push(frame)
      })
      closed.then(() => resolve(false), () => {})
    })
    ws.send(JSON.stringify({ type: 'register', status: 'ok', client_type: 'device', client_id: clientId, metadata: { platform: 'linux' } }))
    if (!(await registeredP)) { violate(`registration of ${clientId} failed`); ws.terminate(); return 1 }

    const judge = (p: Pending): void => {
      const expect = p.frame.expect
      if (expect.kind === 'any') { outcomes.validAnswered = (outcomes.validAnswered ?? 0) + 1; return }
      if (expect.kind === 'close') { violate(`no close after ${preview(p.frame)}`); return }
      const error = p.answers.find((a) => a.type === 'error')
      if (error === undefined) { violate(`no ERROR for ${preview(p.frame)}; answers ${JSON.stringify(p.answers).slice(0, 200)}`); return }
      outcomes.answeredWithError = (outcomes.answeredWithError ?? 0) + 1
      const sessionOk = expect.sessionId === null || error.session_id === expect.sessionId
      const requestOk = expect.requestId === null || error.response_id === expect.requestId
      if (!sessionOk || !requestOk) {
        violate(`uncorrelated ERROR for ${preview(p.frame)}: session_id ${String(error.session_id)} (want ${String(expect.sessionId)}), response_id ${String(error.response_id)} (want ${String(expect.requestId)})`)
        return
      }
      if (expect.sessionId !== null || expect.requestId !== null) outcomes.answeredCorrelated = (outcomes.answeredCorrelated ?? 0) + 1
    }

    let used = 0
    let serial = 0
    try {
      while (used < budget && state.close === null) {
        let closer: FuzzFrame | null = null
        while (used < budget && pending.length < window) {
          const frame = fuzzer.next(clientId)
          used++
          if (count) bump(byKind, frame.kind)
          if (frame.expect.kind === 'close') { closer = frame; break }
          ws.send(frame.data)
          const n = ++serial
          pending.push({ frame, n, answers: [] })
          ws.send(JSON.stringify({ type: 'error', status: 'error', client_type: 'device', client_id: clientId, error: `sentinel:${n}` }))
        }
        if (pending.length > 0) {
          const idle = new Promise<void>((resolve) => { onIdle = resolve })
          const outcome = await within(Promise.race([idle.then(() => 'idle' as const), closed.then(() => 'closed' as const)]), 10_000, 'timeout' as const)
          onIdle = null
          if (outcome === 'timeout') { violate(`no answers within 10 s on ${clientId} (${pending.length} pending, first ${preview(pending[0]!.frame)})`); break }
          if (outcome === 'closed') {
            const code = (state.close as { code: number } | null)?.code ?? 0
            bump(closes, String(code))
            if (!DOCUMENTED_CLOSE_CODES.has(code)) violate(`connection closed with undocumented code ${code} after ${preview(pending[0]!.frame)}`)
            else outcomes.closedDocumented = (outcomes.closedDocumented ?? 0) + 1
            pending = []
            break
          }
        }
        if (closer !== null) {
          if (closer.rawText) ws.send(closer.data, { binary: false })
          else ws.send(closer.data, { binary: closer.binary })
          const outcome = await within(closed, 5000, null)
          const codes = closer.expect.kind === 'close' ? closer.expect.codes : []
          if (outcome === null) violate(`no close within 5 s after ${preview(closer)}`)
          else {
            bump(closes, String(outcome.code))
            if (codes.includes(outcome.code)) outcomes.closedAsExpected = (outcomes.closedAsExpected ?? 0) + 1
            else violate(`close ${outcome.code} instead of ${codes.join('/')} after ${preview(closer)}`)
          }
          break
        }
      }
    } finally {
      ws.terminate()
    }
    return used
  }

  /** A fresh connection whose first frame is a fuzz frame (or a mutated REGISTER). */
  const preRegistration = async (): Promise<void> => {
    const ws = new WebSocket(url)
    ws.on('error', () => {})
    await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject) })
    const frames: Array<Record<string, unknown>> = []
    ws.on('message', (data) => { try { frames.push(JSON.parse(data.toString()) as Record<string, unknown>) } catch { frames.push({}) } })
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)))
    const frame = fuzzer.next(`pre${++connectionSerial}`)
    bump(byKind, `preRegistration:${frame.kind}`)
    if (rng.chance(0.3) && typeof frame.data === 'string') frame.data = frame.data.replace('"heartbeat"', '"register"')
    if (frame.rawText) ws.send(frame.data, { binary: false })
    else ws.send(frame.data, { binary: frame.binary })
    const decoded = typeof frame.data === 'string' && !frame.binary ? decodeClientMessage(frame.data, { maxBytes: maxPayloadBytes }) : null
    const mayRegister = decoded?.ok === true && decoded.value.type === 'register' && (decoded.value.client_id ?? '') !== ''
    const code = await within(closed, 4000, null)
    ws.terminate()
    if (code === null) {
      if (mayRegister && frames[0]?.type === 'heartbeat') { outcomes.preRegistrationAccepted = (outcomes.preRegistrationAccepted ?? 0) + 1; return }
      violate(`no close within 4 s after a first frame ${preview(frame)}`)
      return
    }
    bump(closes, `${code} (before registration)`)
    if (!DOCUMENTED_CLOSE_CODES.has(code)) { violate(`first frame closed with undocumented ${code}: ${preview(frame)}`); return }
    if (code === 4002 && frames[0]?.type !== 'error') violate(`silent refusal of a first frame ${preview(frame)}`)
    outcomes.preRegistrationRefused = (outcomes.preRegistrationRefused ?? 0) + 1
  }

  /** Trickles a REGISTER, then a malformed frame with ids, a few bytes at a time. */
  const trickle = async (i: number): Promise<void> => {
    const raw = await RawWebSocket.connect(server.port)
    try {
      const gap = rng.between(2, 10)
      await raw.trickle(JSON.stringify({ type: 'register', status: 'ok', client_type: 'device', client_id: `trickle${i}` }), rng.between(1, 4), gap)
      const answer = await raw.next(5000)
      if (answer === null || !answer.payload.toString().includes('"heartbeat"')) { violate(`trickled REGISTER ${i} not answered with HEARTBEAT ok`); return }
      await raw.trickle('{"type":"heartbeat","status":7,"session_id":"trickle-s","request_id":"trickle-r"}', rng.between(1, 4), gap)
      const error = await raw.next(5000)
      const parsed = error === null ? null : JSON.parse(error.payload.toString()) as Record<string, unknown>
      if (parsed?.type !== 'error' || parsed.session_id !== 'trickle-s' || parsed.response_id !== 'trickle-r') {
        violate(`trickled malformed frame ${i} not answered with a correlated ERROR: ${JSON.stringify(parsed)}`)
        return
      }
      outcomes.trickled = (outcomes.trickled ?? 0) + 1
    } finally {
      raw.destroy()
    }
  }

  const drive = async (total: number, count: boolean): Promise<void> => {
    let remaining = total
    await Promise.all(Array.from({ length: workers }, async () => {
      while (remaining > 0) {
        if (count && rng.chance(preShare)) {
          remaining--
          await preRegistration().catch((err: Error) => violate(`pre-registration connection failed: ${err.message}`))
          continue
        }
        const budget = Math.min(remaining, 200 + rng.int(800))
        remaining -= budget
        const used = await fuzzConnection(budget, count).catch((err: Error) => { violate(`fuzz connection failed: ${err.message}`); return budget })
        remaining += budget - used
      }
    }))
  }

  // Warm-up (not counted), then the RSS baseline.
  await drive(Math.min(20_000, Math.max(5000, Math.floor(options.frames / 20))), false)
  await sleep(300)
  const before = await server.gc()
  log(`fuzz: warm server RSS ${mib(before.rss)}, heap ${mib(before.heapUsed)}`)

  let progress = 0
  const ticker = setInterval(() => {
    const sent = Object.values(byKind).reduce((a, b) => a + b, 0)
    if (sent - progress < options.frames / 10) return
    progress = sent
    server.stats().then((stats) => log(`fuzz: ${sent}/${options.frames} frames, server RSS ${mib(stats.rss)}, heap ${mib(stats.heapUsed)}, ${stats.connections} connections, ${stats.sessions} sessions`), () => {})
  }, 1000)
  await Promise.all([
    drive(options.frames, true),
    (async () => { for (let i = 0; i < trickles; i++) await trickle(i).catch((err: Error) => violate(`trickle ${i} failed: ${err.message}`)) })()
  ])
  clearInterval(ticker)

  controlState.running = false
  await controlLoop
  controlWs.close()
  // Let the sessions started by fuzzed TASKs end, then measure.
  for (let i = 0; i < 50; i++) {
    const stats = await server.stats().catch(() => null)
    if (stats === null || (stats.sessions === 0 && stats.connections === 0)) break
    await sleep(100)
  }
  await sleep(300)
  const after = await server.gc().catch(() => null)
  if (server.crashed !== null) violate(server.crashed)
  if (after !== null) {
    if (after.uncaught > 0 || after.unhandled > 0) violate(`server: ${after.uncaught} uncaught exceptions, ${after.unhandled} unhandled rejections: ${after.errors.join(' | ').slice(0, 2000)}`)
    const growth = (after.rss - before.rss) / before.rss
    if (growth > tolerance) violate(`server RSS grew ${(growth * 100).toFixed(1)} % (${mib(before.rss)} -> ${mib(after.rss)}), more than ${tolerance * 100} %`)
    if (after.connections !== 0) violate(`${after.connections} connections still open at the server after the run`)
  }
  await server.stop()

  const frames = Object.values(byKind).reduce((a, b) => a + b, 0)
  const text = [
    `fuzz seed=${options.seed} frames=${frames} workers=${workers} maxPayloadBytes=${maxPayloadBytes} duration=${((Date.now() - started) / 1000).toFixed(1)}s`,
    table('frames by kind', byKind as Record<FuzzKind, number>),
    table('outcomes', outcomes),
    table('closes by code', closes),
    `control client: ${control.heartbeats} heartbeats, ${control.missed} missed, max latency ${control.maxLatencyMs} ms`,
    `server RSS: ${mib(before.rss)} before, ${after === null ? '?' : mib(after.rss)} after (${after === null ? '?' : (((after.rss - before.rss) / before.rss) * 100).toFixed(1)} %); heap ${mib(before.heapUsed)} -> ${after === null ? '?' : mib(after.heapUsed)}`,
    `server errors: ${after === null ? '?' : `${after.uncaught} uncaught, ${after.unhandled} unhandled`}${server.crashed === null ? '' : `; ${server.crashed}`}`,
    verdict(violations.slice(0, 50)),
    `replay: pnpm fuzz --seed ${options.seed} --frames ${options.frames}`
  ].join('\n')
  return {
    seed: options.seed,
    ok: violations.length === 0,
    frames,
    byKind,
    outcomes,
    closes,
    control,
    rssBefore: before.rss,
    rssAfter: after?.rss ?? 0,
    heapBefore: before.heapUsed,
    heapAfter: after?.heapUsed ?? 0,
    server: after,
    violations,
    text
  }
}
