import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { test } from 'tap'
import { redisServerOrSkip } from '@aip/test-support'
import { AIP_BIN, freePort, startDevice, startServe } from '../src/fleet/processes.js'

const TOKEN = 'format-token'

/** Runs one command with `redis-cli` (installed with redis-server) against the test's Redis. */
function redisCli (port: number, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 10_000 }, (error, stdout) => {
      if (error !== null) reject(error)
      else resolve(stdout.trim())
    })
  })
}

/** Runs `aip task` against the device `d1` to its end. */
function task (url: string, request: string): Promise<{ code: number | null, end: Record<string, unknown> | undefined }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [AIP_BIN, 'task', '--url', url, '--device', 'd1', '--request', request, '--timeout', '30', '--json'], { timeout: 60_000 }, (error, stdout) => {
      let end: Record<string, unknown> | undefined
      try { end = JSON.parse(stdout) as Record<string, unknown> } catch {}
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, end })
    })
  })
}

/** Asks `GET /api/health` until `predicate` holds for its `cluster` (about 30 s at most). */
type ClusterHealth = { state?: string, problem?: { code: string | null, message: string } }

async function clusterHealth (port: number, predicate: (cluster: ClusterHealth) => boolean): Promise<ClusterHealth> {
  let last: ClusterHealth = {}
  for (let i = 0; i < 300; i++) {
    const reply = await fetch(`http://127.0.0.1:${port}/api/health`, { headers: { 'X-API-Key': `${TOKEN}-api` } })
    last = ((await reply.json()) as { cluster?: ClusterHealth }).cluster ?? {}
    if (predicate(last)) return last
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return last
}

test('aip serve --redis beside a live node of an earlier version: it does not join, serves its own devices, says why, and joins once that node left', async (t) => {
  const redis = await redisServerOrSkip(t)
  if (redis === undefined) return
  try {
    await redisCli(redis.port, 'PING')
  } catch {
    const reason = 'redis-cli is missing: install the Debian package redis-tools (it comes with redis-server)'
    process.stderr.write(`${reason}\n`)
    t.plan(0, reason)
    return
  }
  const prefix = `t-${randomUUID().slice(0, 8)}:`
  // A node of a version without cluster formats, as it writes itself: its node lease and its entry in the live index.
  await redisCli(redis.port, 'SET', `${prefix}node:{old-node}`, 'their-token', 'PX', '600000')
  await redisCli(redis.port, 'ZADD', `${prefix}nodes`, String(Date.now() + 600_000), 'old-node')

  const port = await freePort()
  const serve = await startServe(port, TOKEN, ['--redis', redis.url, '--node-id', 'node-new', '--redis-prefix', prefix])
  t.teardown(() => serve.kill())
  const url = `ws://127.0.0.1:${port}/ws?token=${TOKEN}`
  t.match(await clusterHealth(port, (cluster) => cluster.state === 'down'), { state: 'down', problem: { code: 'AIP_ERR_REDIS_CLUSTER_FORMAT', message: /old-node/ } }, 'health reports the link down, and why')
  t.ok(serve.stderr.some((line) => line.includes('another cluster format')), 'the log says why')

  const device = startDevice('d1', url)
  t.teardown(() => device.kill())
  await device.waitFor((v) => v.state === 'registered', 30_000, 'registration, accepted locally')
  const local = await task(url, 'echo {"n":1}')
  t.equal(local.code, 0, 'a task for a device of the same node completes')
  t.match(local.end, { device: 'd1', status: 'completed' })
  t.equal(await redisCli(redis.port, 'EXISTS', `${prefix}lease:{d1}`), '0', 'no client lease was claimed')
  t.equal(await redisCli(redis.port, 'ZRANGE', `${prefix}nodes`, '0', '-1'), 'old-node', 'the node is not listed live')

  // The earlier version's node stops: the new one joins on its own and claims the device it served.
  await redisCli(redis.port, 'DEL', `${prefix}node:{old-node}`)
  await redisCli(redis.port, 'ZREM', `${prefix}nodes`, 'old-node')
  const ready = await clusterHealth(port, (cluster) => cluster.state === 'ready')
  t.match(ready, { state: 'ready' }, 'health reports the link ready')
  t.notOk('problem' in ready, 'with no problem')
  let lease = '0'
  for (let i = 0; i < 100 && lease !== '1'; i++) {
    lease = await redisCli(redis.port, 'EXISTS', `${prefix}lease:{d1}`)
    if (lease !== '1') await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.equal(lease, '1', 'the device\'s lease is claimed')
  const after = await task(url, 'echo {"n":2}')
  t.equal(after.code, 0, 'and tasks go on')
  t.ok(device.alive && serve.alive, 'the device and the server still run')
})
