/*
 * A device program for the continuity run: a plain `DeviceClientEndpoint` with one slow tool, `work`, that takes
 * `params.ms` milliseconds (and honours its signal). It counts its executions per (session, call) and prints one
 * JSON line per execution, so the parent can tell whether any call ran twice on this device.
 *
 * argv: <wsUrl> <clientId> [--no-continuity]
 * out:  { type: 'state', device, state, at }                  every state change of the client
 *       { type: 'exec', device, session, call, n, at }        a `work` call starts (n: runs of that call so far)
 *       { type: 'done', device, session, call, outcome, at }  it ends: `ok`, or `aborted` (session ended, stop)
 */
import { DeviceClientEndpoint, type DeviceClientOptions, type ToolContext } from '@aip/device-client'

const [wsUrl, clientId, ...flags] = process.argv.slice(2)
if (wsUrl === undefined || clientId === undefined) throw new Error('usage: continuity-device <wsUrl> <clientId> [--no-continuity]')
const line = (value: Record<string, unknown>): void => { process.stdout.write(`${JSON.stringify({ ...value, device: clientId, at: Date.now() })}\n`) }

const runs = new Map<string, number>()

async function work (params: Record<string, unknown>, ctx: ToolContext): Promise<{ ms: number }> {
  const ms = typeof params.ms === 'number' && params.ms >= 0 ? Math.min(params.ms, 10_000) : 500
  const key = `${ctx.sessionId ?? ''}|${ctx.callId ?? ''}`
  const n = (runs.get(key) ?? 0) + 1
  runs.set(key, n)
  line({ type: 'exec', session: ctx.sessionId, call: ctx.callId, n })
  try {
    await new Promise<void>((resolve, reject) => {
      if (ctx.signal.aborted) { reject(ctx.signal.reason); return }
      const timer = setTimeout(() => { ctx.signal.removeEventListener('abort', onAbort); resolve() }, ms)
      const onAbort = (): void => { clearTimeout(timer); reject(ctx.signal.reason) }
      ctx.signal.addEventListener('abort', onAbort, { once: true })
    })
  } catch (err) {
    line({ type: 'done', session: ctx.sessionId, call: ctx.callId, outcome: 'aborted' })
    throw err
  }
  line({ type: 'done', session: ctx.sessionId, call: ctx.callId, outcome: 'ok' })
  return { ms }
}

// `continuity` is the option of the continuity extension (on by default); `--no-continuity` asks for nothing.
const options: DeviceClientOptions = {
  wsUrl,
  clientId,
  tools: { work: { description: 'Works for params.ms milliseconds', handler: work } },
  ...(flags.includes('--no-continuity') ? { continuity: false } : {})
}
const device = new DeviceClientEndpoint(options)
device.on('state', ({ state }) => line({ type: 'state', state: state.kind }))
await device.start()
