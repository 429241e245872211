import { test } from 'tap'
import WebSocket from 'ws'
import { ExitCode, main, type Io } from '../src/index.js'
import { serveInProcess } from './helpers/serve.js'

/** Registers a device asking for every continuity capability; resolves with the grant of the answer. */
async function grantOf (wsUrl: string, clientId: string): Promise<Record<string, unknown>> {
  const ws = new WebSocket(wsUrl)
  try {
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
    const answer = new Promise<Record<string, any>>((resolve) => ws.once('message', (data) => resolve(JSON.parse(data.toString()))))
    ws.send(JSON.stringify({ type: 'register', status: 'ok', client_type: 'device', client_id: clientId, metadata: { aip_capabilities: ['resume', 'cancel', 'deadline'] } }))
    return (await answer).aip
  } finally {
    ws.terminate()
  }
}

test('aip serve grants resume with a 30 s window by default, and --resume-window sets it (0: none)', async (t) => {
  const byDefault = await serveInProcess([])
  t.match(await grantOf(byDefault.wsUrl, 'dev-default'), { capabilities: ['resume', 'cancel', 'deadline'], resume_window_ms: 30_000 })
  t.equal(await byDefault.stop(), ExitCode.Ok)
  const off = await serveInProcess(['--resume-window', '0'])
  t.match(await grantOf(off.wsUrl, 'dev-off'), { capabilities: ['cancel', 'deadline'], resume_window_ms: 0 })
  t.equal(await off.stop(), ExitCode.Ok)
  const short = await serveInProcess(['--resume-window', '5000'])
  t.match(await grantOf(short.wsUrl, 'dev-short'), { resume_window_ms: 5_000 })
  t.equal(await short.stop(), ExitCode.Ok)
})

test('aip serve --resume-window refuses what is not a whole number of milliseconds', async (t) => {
  for (const value of ['-1', 'soon', '1.5']) {
    const stderr: string[] = []
    const io: Io = { stdout: () => {}, stderr: (text) => { stderr.push(text) }, interrupted: new Promise<string>(() => {}), env: {} }
    t.equal(await main(['serve', '--port', '0', `--resume-window=${value}`], io), ExitCode.Usage, value)
    t.match(stderr.join(''), /--resume-window must be/, `${value}: the message names the flag`)
  }
})
