import Fastify from 'fastify'
import { ConstellationEndpoint } from '@aip/constellation'
import { DeviceClientEndpoint, type ToolSet } from '@aip/device-client'
import { planAgent } from '@aip/device-server'
import aipPlugin from 'fastify-aip'
import { buildTools, desktopTools, laptopTools } from './tools.js'

/** One step of the workflow: a command plan for one device, after the steps it depends on. */
interface Step {
  name: string
  device: string
  after: string[]
  plan: (results: Map<string, unknown>) => Array<{ tool_name: string, parameters: Record<string, unknown> }>
}

/** What the demo reports for each step. */
export interface StepOutcome {
  step: string
  device: string
  status: 'completed' | 'failed'
  startedMs: number
  ms: number
  error: string | null
}

const DEVICES: Array<{ id: string, platform: string, tools: ToolSet }> = [
  { id: 'win-desktop', platform: 'windows', tools: desktopTools },
  { id: 'linux-build', platform: 'linux', tools: buildTools },
  { id: 'mac-laptop', platform: 'darwin', tools: laptopTools }
]

/** A small release workflow: independent steps run in parallel, the rest when their inputs are ready. */
const WORKFLOW: Step[] = [
  { name: 'run tests', device: 'linux-build', after: [], plan: () => [{ tool_name: 'run_tests', parameters: { suite: 'all' } }] },
  { name: 'open the release app', device: 'win-desktop', after: [], plan: () => [{ tool_name: 'open_app', parameters: { name: 'ReleaseNotes' } }, { tool_name: 'screenshot', parameters: {} }] },
  { name: 'check the calendar', device: 'mac-laptop', after: [], plan: () => [{ tool_name: 'read_calendar', parameters: {} }] },
  { name: 'fingerprint the build', device: 'linux-build', after: ['run tests'], plan: () => [{ tool_name: 'checksum', parameters: { artifact: 'app-1.4.0.tar.gz' } }] },
  {
    name: 'write the release note',
    device: 'win-desktop',
    after: ['open the release app', 'fingerprint the build'],
    plan: (results) => [{ tool_name: 'type_text', parameters: { text: `Release 1.4.0 (${JSON.stringify(results.get('fingerprint the build'))})` } }]
  },
  { name: 'notify the team', device: 'mac-laptop', after: ['write the release note', 'check the calendar'], plan: () => [{ tool_name: 'send_notification', parameters: { title: 'Release 1.4.0 is out' } }] }
]

/**
 * Runs the whole demo on 127.0.0.1: a server (Fastify + fastify-aip, in-memory state), three devices with
 * different tools and platforms, and a constellation that runs the workflow. Resolves with every step's outcome.
 */
export async function runDemo (log: (line: string) => void): Promise<StepOutcome[]> {
  const token = 'demo-token'
  const app = Fastify({ logger: false })
  await app.register(aipPlugin, { agent: planAgent, token })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  const wsUrl = `ws://127.0.0.1:${port}/ws?token=${token}`
  log(`server      listening on 127.0.0.1:${port}`)

  const devices = DEVICES.map((d) => new DeviceClientEndpoint({ wsUrl, clientId: d.id, platform: d.platform, tools: d.tools }))
  const constellation = new ConstellationEndpoint({ taskName: 'release' })
  const begin = performance.now()
  const at = (): string => `${String(Math.round(performance.now() - begin)).padStart(5)} ms`
  try {
    await Promise.all(devices.map((d) => d.start()))
    for (const d of DEVICES) log(`device      ${d.id.padEnd(12)} registered (${d.platform}: ${Object.keys(d.tools).join(', ')})`)
    await Promise.all(DEVICES.map((d) => constellation.connectToDevice({ deviceId: d.id, serverUrl: wsUrl })))
    const info = await constellation.requestDeviceInfo('linux-build') as { platform?: string, cpu_count?: number }
    log(`constellation connected to 3 devices; linux-build reports ${String(info.platform)}, ${String(info.cpu_count)} CPUs`)

    const results = new Map<string, unknown>()
    const outcomes: StepOutcome[] = []
    const started = new Map<string, Promise<void>>()
    const run = (step: Step): Promise<void> => {
      let running = started.get(step.name)
      if (running !== undefined) return running
      running = (async () => {
        await Promise.all(step.after.map((name) => run(WORKFLOW.find((s) => s.name === name) as Step)))
        const t0 = performance.now()
        log(`${at()}  start   ${step.name.padEnd(24)} on ${step.device}`)
        const end = await constellation.sendTaskToDevice(step.device, { request: JSON.stringify(step.plan(results)), timeoutMs: 30_000 })
        const ms = Math.round(performance.now() - t0)
        const last = (end.result as Array<{ result: Array<{ result: unknown }> }>).at(-1)?.result.at(-1)?.result
        results.set(step.name, last)
        outcomes.push({ step: step.name, device: step.device, status: end.status, startedMs: Math.round(t0 - begin), ms, error: end.error })
        log(`${at()}  ${end.status === 'completed' ? 'done   ' : 'FAILED '} ${step.name.padEnd(24)} on ${step.device} (${ms} ms)`)
      })()
      started.set(step.name, running)
      return running
    }
    await Promise.all(WORKFLOW.map(run))
    return outcomes
  } finally {
    await constellation.stop()
    await Promise.all(devices.map((d) => d.stop()))
    await app.close()
  }
}

/** The summary table of a run. */
export function summary (outcomes: readonly StepOutcome[]): string {
  const rows = [...outcomes].sort((a, b) => a.startedMs - b.startedMs)
  const width = Math.max(...rows.map((r) => r.step.length), 4)
  return [
    `${'step'.padEnd(width)}  ${'device'.padEnd(12)}  ${'status'.padEnd(9)}  ${'start'.padStart(7)}  ${'time'.padStart(7)}`,
    `${'-'.repeat(width)}  ${'-'.repeat(12)}  ${'-'.repeat(9)}  ${'-'.repeat(7)}  ${'-'.repeat(7)}`,
    ...rows.map((r) => `${r.step.padEnd(width)}  ${r.device.padEnd(12)}  ${r.status.padEnd(9)}  ${`${r.startedMs} ms`.padStart(7)}  ${`${r.ms} ms`.padStart(7)}`)
  ].join('\n')
}
