import t from 'tap'
import { ensureRedisServer, REDIS_PACKAGE, redisServerOrSkip } from './helpers/redis-server.js'

t.test('without redis-server and without root, the Redis tests are skipped with a message naming the package', async (t) => {
  const missing = 'aip-no-such-redis-server'
  t.same(ensureRedisServer({ binary: missing, root: false }), {
    available: false,
    reason: `redis-server is not installed and this is not root: install the Debian package ${REDIS_PACKAGE} (apt-get install -y ${REDIS_PACKAGE})`
  })
  const calls: unknown[][] = []
  const written: string[] = []
  const write = process.stderr.write
  process.stderr.write = ((chunk: string) => { written.push(String(chunk)); return true }) as typeof process.stderr.write
  try {
    const server = await redisServerOrSkip({
      teardown: () => calls.push(['teardown']),
      plan: (...args) => calls.push(['plan', ...args]),
      comment: (...args) => calls.push(['comment', ...args])
    }, { binary: missing, root: false })
    t.equal(server, undefined, 'no server')
  } finally {
    process.stderr.write = write
  }
  t.match(written.join(''), /SKIPPING Redis tests: .*install the Debian package redis-server/, 'loud on stderr')
  t.match(calls, [['comment', /SKIPPED: .*redis-server/], ['plan', 0, /redis-server/]], 'the file is planned as skipped, with the reason')
  t.notOk(calls.some(([name]) => name === 'teardown'), 'nothing to tear down')
})

t.test('with redis-server installed, the helper finds it', async (t) => {
  const check = ensureRedisServer()
  if (!check.available) {
    t.comment(`SKIPPED: ${check.reason}`)
    return
  }
  t.same(check, { available: true })
})
