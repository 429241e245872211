import { execFile } from 'node:child_process'
import { test } from 'tap'
import { AIP_BIN, freePort, startDevice, startServe } from '../src/fleet/processes.js'

const TOKEN = 'failover-token'

/** Runs `aip` to its end: exit code and stdout. */
function aip (args: readonly string[], timeoutMs: number): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [AIP_BIN, ...args], { timeout: timeoutMs }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr })
    })
  })
}

test('an aip device given two server URLs registers on the second when the first is killed (SIGKILL); a task still completes', async (t) => {
  const [portA, portB] = [await freePort(), await freePort()]
  const serveA = await startServe(portA, TOKEN)
  t.teardown(() => serveA.kill())
  const serveB = await startServe(portB, TOKEN)
  t.teardown(() => serveB.kill())
  const urlA = `ws://127.0.0.1:${portA}/ws?token=${TOKEN}`
  const urlB = `ws://127.0.0.1:${portB}/ws?token=${TOKEN}`
  const shown = (url: string): string => url.replace(TOKEN, '[redacted]')

  const device = startDevice('d1', [urlA, urlB])
  t.teardown(() => device.kill())
  const first = await device.waitFor((v) => v.state === 'registered', 30_000, 'registration')
  t.equal(first.url, shown(urlA), 'registered on the first server of the list')

  const since = device.values.length
  await serveA.kill()
  const again = await device.waitFor((v) => v.state === 'registered', 30_000, 'registration on the second server', since)
  t.equal(again.url, shown(urlB), 'registered again, on the second server')
  t.notOk(JSON.stringify(device.values).includes(TOKEN), 'the token is never printed')

  // `aip task` given both URLs, the dead one first, reaches the device through the survivor.
  const run = await aip(['task', '--url', `${urlA},${urlB}`, '--device', 'd1', '--request', 'echo {"n":1}', '--timeout', '30', '--json'], 60_000)
  t.equal(run.code, 0, `the task completed (stderr: ${run.stderr.trim()})`)
  t.match(JSON.parse(run.stdout) as unknown, { device: 'd1', status: 'completed' })
  t.ok(device.alive, 'the device process still runs')
})
