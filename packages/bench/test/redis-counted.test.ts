import { mkdtempSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
import { once } from 'node:events'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'tap'
import { callgrindMissing, callgrindWrapper } from '../src/instructions.js'
import { BenchRedis, redisServerMissing } from '../src/redis.js'

// `--instructions` counts redis-server's work the way it counts a server process's: redis-server runs under
// callgrind, and its instructions are read from the running process. Work it does shows in the count; a
// redis-server started without callgrind has no count.

const missing = callgrindMissing() ?? redisServerMissing()

/** Sends `count` PINGs on one connection and waits for every answer. */
async function pings (port: number, count: number): Promise<void> {
  const socket = connect(port, '127.0.0.1')
  await once(socket, 'connect')
  let answered = 0
  const done = new Promise<void>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      answered += chunk.toString().split('+PONG\r\n').length - 1
      if (answered >= count) resolve()
    })
  })
  socket.write('PING\r\n'.repeat(count))
  await done
  socket.destroy()
}

test('a redis-server under callgrind has its instructions counted, and its work shows in them', { skip: missing ?? false, timeout: 240_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'aip-bench-redis-counted-'))
  const redis = await BenchRedis.start(callgrindWrapper(dir))
  t.teardown(async () => {
    await redis.stop()
    rmSync(dir, { recursive: true, force: true })
  })
  const before = await redis.sample()
  t.type(before.instructions, 'number')
  await pings(redis.port, 2000)
  const after = await redis.sample()
  t.ok((after.instructions as number) - (before.instructions as number) > 2000, `2,000 PINGs are counted as more than 2,000 instructions (${(after.instructions as number) - (before.instructions as number)})`)
  t.ok(after.commands - before.commands >= 2000, 'and as commands')
})

test('a redis-server started without callgrind has no instruction count', { skip: redisServerMissing() ?? false, timeout: 60_000 }, async (t) => {
  const redis = await BenchRedis.start()
  t.teardown(async () => { await redis.stop() })
  t.equal(await redis.instructions(), undefined)
  t.equal((await redis.sample()).instructions, undefined)
})
