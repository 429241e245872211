/*
 * Records the frames of the continuity extension, as PROTOCOL.md shows them: one `aip serve --resume-window`, one
 * device and one constellation (in this process), each link through its own proxy that decodes every WebSocket
 * frame. Scenarios: (a) the device's link is cut while its tool runs, and it resumes; (b) the constellation's link
 * is cut while its task runs: once past the end of the task (the re-sent TASK gets the TASK_END again), once
 * shorter (it gets the ack again); (c) the constellation aborts a running task (task_cancel).
 * Prints one JSON line per frame ({ link, dir, frame }) and per event ({ note }).
 *
 * node dist/continuity/transcript.js [--resume-window 10000]
 */
import { ConstellationEndpoint } from '@aip/constellation'
import { DeviceClientEndpoint, type ToolContext } from '@aip/device-client'
import { freePort, startServe } from '../fleet/processes.js'
import { FaultProxy } from '../proxy.js'
import { numberArg, print, sleep } from '../report.js'
import { recordFrames } from './wire-log.js'

const TOKEN = 'transcript'
const windowMs = numberArg('resume-window', 10_000)
const note = (text: string): void => print(JSON.stringify({ note: text }))
let started: (() => void) | null = null

async function work (params: Record<string, unknown>, ctx: ToolContext): Promise<{ ms: number }> {
  const ms = typeof params.ms === 'number' ? params.ms : 500
  note(`device: work(${ms}) starts, call ${String(ctx.callId)}`)
  started?.()
  await new Promise<void>((resolve, reject) => {
    const onAbort = (): void => { clearTimeout(timer); note('device: work aborted'); reject(ctx.signal.reason) }
    const timer = setTimeout(() => { ctx.signal.removeEventListener('abort', onAbort); resolve() }, ms)
    ctx.signal.addEventListener('abort', onAbort, { once: true })
  })
  note(`device: work(${ms}) done`)
  return { ms }
}

function toolStarted (): Promise<void> {
  return new Promise((resolve) => { started = () => { started = null; resolve() } })
}

/** Waits (bounded) until both clients are registered again, so that each scenario starts whole. */
async function whole (): Promise<void> {
  for (let i = 0; i < 300 && !(device.isConnected() && constellation.isDeviceConnected('dev1')); i++) await sleep(50)
}

async function outcome (label: string, task: Promise<{ status: string, error: string | null }>): Promise<void> {
  await task.then(
    (end) => note(`${label} outcome: ${end.status}${end.error === null ? '' : ` (${end.error})`}`),
    (err: unknown) => note(`${label} rejected: ${String((err as { code?: string }).code)} ${(err as Error).message}`)
  )
  await whole()
}

const plan = (ms: number): string => JSON.stringify([{ tool_name: 'work', parameters: { ms } }])

const port = await freePort()
const serve = await startServe(port, TOKEN, ['--resume-window', String(windowMs)])
const deviceLink = await FaultProxy.start(() => port)
const constellationLink = await FaultProxy.start(() => port)
const drop = (value: unknown): unknown => {
  // The fields that are set only, as PROTOCOL.md shows frames.
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null))
}
for (const [proxy, link] of [[deviceLink, 'device'], [constellationLink, 'constellation']] as const) {
  recordFrames(proxy, link, (entry) => print(JSON.stringify({ link: `${entry.link}#${entry.connection}`, dir: entry.direction === 'up' ? 'client->server' : 'server->client', frame: drop(entry.frame) })))
}
const device = new DeviceClientEndpoint({ wsUrl: `ws://127.0.0.1:${deviceLink.port}/ws?token=${TOKEN}`, clientId: 'dev1', heartbeatIntervalMs: 600_000, tools: { work: { handler: work } } })
const constellation = new ConstellationEndpoint({ taskName: 'galaxy_task', heartbeatIntervalMs: 600_000 })
try {
  note('device and constellation register')
  await device.start()
  await constellation.connectToDevice({ deviceId: 'dev1', serverUrl: `ws://127.0.0.1:${constellationLink.port}/ws?token=${TOKEN}` })

  note('(a) the device link is cut while its tool runs, for 300 ms')
  let running = toolStarted()
  let task = constellation.sendTaskToDevice('dev1', { request: plan(1500), taskId: 'a' })
  await running
  note('the device\'s link is cut, and down for 300 ms')
  deviceLink.outage(300)
  await outcome('(a)', task)

  note('(b) the constellation link is cut while its task runs, until after the task ended')
  running = toolStarted()
  task = constellation.sendTaskToDevice('dev1', { request: plan(600), taskId: 'b1' })
  await running
  note('the constellation\'s link is cut, and down for 1500 ms')
  constellationLink.outage(1500)
  await outcome('(b)', task)

  note('(b) the constellation link is cut for 200 ms while its task runs')
  running = toolStarted()
  task = constellation.sendTaskToDevice('dev1', { request: plan(2000), taskId: 'b2' })
  await running
  note('the constellation\'s link is cut, and down for 200 ms')
  constellationLink.outage(200)
  await outcome('(b)', task)

  note('(c) the constellation aborts its running task')
  const controller = new AbortController()
  running = toolStarted()
  task = constellation.sendTaskToDevice('dev1', { request: plan(5000), taskId: 'c', signal: controller.signal })
  await running
  note('the constellation\'s signal aborts')
  controller.abort()
  await outcome('(c)', task)
  await sleep(500)
} finally {
  await constellation.stop()
  await device.stop()
  await serve.kill()
  await deviceLink.close()
  await constellationLink.close()
}
