import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { test } from 'tap'
import { ensureRedisServer } from '@aip/test-support'

test('npm run cluster: a task on the device of each node completes, the one on node A through node B', async (t) => {
  const redis = ensureRedisServer()
  if (!redis.available) {
    t.plan(0, redis.reason)
    return
  }
  const run = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '..', 'src', 'main.ts')], { encoding: 'utf8', timeout: 90_000 })
  t.equal(run.status, 0, run.stderr)
  t.match(run.stdout, /task on laptop: completed; its agent ran on node-a, the orchestrator is on node-b/, 'cross-node: the agent ran where the device is')
  t.match(run.stdout, /task on phone: completed; its agent ran on node-b, the orchestrator is on node-b/)
  t.match(run.stdout, /2 of 2 tasks completed\n$/)
})
