import { execFile, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { test } from 'tap'
import { redisServerOrSkip } from '@aip/test-support'
import { AIP_BIN, Observed, freePort, startDevice, startServe } from '../src/fleet/processes.js'

const TOKEN = 'cluster-token'

/** Runs `aip task` to its end: exit code and its JSON answer. */
function task (urls: readonly string[], request: string, timeoutS = 60): Promise<{ code: number | null, end: Record<string, unknown> | undefined, stderr: string }> {
  return new Promise((resolve) => {
    const args = ['task', ...urls.flatMap((url) => ['--url', url]), '--device', 'd1', '--request', request, '--timeout', String(timeoutS), '--json']
    execFile(process.execPath, [AIP_BIN, ...args], { timeout: (timeoutS + 30) * 1000 }, (error, stdout, stderr) => {
      let end: Record<string, unknown> | undefined
      try { end = JSON.parse(stdout) as Record<string, unknown> } catch {}
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, end, stderr })
    })
  })
}

test('two aip serve --redis nodes: a task crosses nodes, node A is killed (SIGKILL), the device moves to B, every task has a known outcome', async (t) => {
  const redis = await redisServerOrSkip(t)
  if (redis === undefined) return
  const prefix = `t-${randomUUID().slice(0, 8)}:`
  const [portA, portB] = [await freePort(), await freePort()]
  const serveA = await startServe(portA, TOKEN, ['--redis', redis.url, '--node-id', 'node-a', '--redis-prefix', prefix])
  t.teardown(() => serveA.kill())
  const serveB = await startServe(portB, TOKEN, ['--redis', redis.url, '--node-id', 'node-b', '--redis-prefix', prefix])
  t.teardown(() => serveB.kill())
  t.equal(serveA.values[0]?.nodeId, 'node-a', 'aip serve --json prints its node id')
  const urlA = `ws://127.0.0.1:${portA}/ws?token=${TOKEN}`
  const urlB = `ws://127.0.0.1:${portB}/ws?token=${TOKEN}`

  const device = startDevice('d1', [urlA, urlB])
  t.teardown(() => device.kill())
  await device.waitFor((v) => v.state === 'registered', 30_000, 'registration on node A')

  // A constellation on node B, the device on node A: the agent runs on A, the TASK_END reaches B.
  const crossed = await task([urlB], 'echo {"n":1}')
  t.equal(crossed.code, 0, `a task from node B to the device on node A completes (${crossed.stderr.trim()})`)
  t.match(crossed.end, { device: 'd1', status: 'completed' })

  // A long task in flight across nodes when node A dies.
  const child = spawn(process.execPath, [AIP_BIN, 'task', '--url', urlB, '--device', 'd1', '--request', 'sleep {"ms":30000}', '--timeout', '90', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] })
  const inFlight = new Observed('aip task (in flight)', child)
  t.teardown(() => inFlight.kill())
  for (let i = 0; i < 400 && !inFlight.stderr.some((line) => line.includes('busy')); i++) await new Promise((resolve) => setTimeout(resolve, 50))
  t.ok(inFlight.stderr.some((line) => line.includes('busy')), 'the long task was sent')
  const since = device.values.length
  await serveA.kill()

  const { code } = await inFlight.exited
  const end = inFlight.values.at(-1)
  t.equal(code, 1, 'the task in flight did not hang: it ended, failed')
  t.match(end, { device: 'd1', status: 'failed' }, `its outcome is known: ${String(end?.error)}`)

  const moved = await device.waitFor((v) => v.state === 'registered', 60_000, 'registration on node B', since)
  t.equal(moved.url, urlB.replace(TOKEN, '[redacted]'), 'the device moved to node B')
  const after = await task([urlA, urlB], 'echo {"n":2}')
  t.equal(after.code, 0, `after the loss, a task completes on node B (${after.stderr.trim()})`)
  t.ok(device.alive && serveB.alive, 'the device and node B still run')
})
