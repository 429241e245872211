import t from 'tap'
import type { ClusterState } from '@aip/device-server'
import { CLUSTER_FORMAT, RedisCluster, type Logger, type RedisConnection } from '../src/index.js'
import { connect, eventually } from './helpers/common.js'
import { redisServerOrSkip } from './helpers/redis-server.js'

const record = { clientId: 'dev-1', clientType: 'device' as const, targetId: null, platform: null, systemInfo: null, registeredAt: 1 }

/** A logger that keeps what it was given, and tells `on` listeners of each line. */
function recordingLogger (): Logger & { lines: Array<{ level: string, msg: string, obj: object }>, on: (fn: (level: string, msg: string) => void) => void } {
  const lines: Array<{ level: string, msg: string, obj: object }> = []
  const listeners: Array<(level: string, msg: string) => void> = []
  const at = (level: string) => (obj: object, msg = ''): void => {
    lines.push({ level, msg, obj })
    for (const fn of listeners) fn(level, msg)
  }
  return { lines, on: (fn) => { listeners.push(fn) }, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
}

/** Resolves at the `count`-th log line of `level` whose message matches `pattern` (counting from now). */
async function logged (logger: ReturnType<typeof recordingLogger>, level: string, pattern: RegExp, count = 1): Promise<void> {
  await new Promise<void>((resolve) => {
    let seen = 0
    logger.on((at, msg) => { if (at === level && pattern.test(msg) && ++seen === count) resolve() })
  })
}

/**
 * Writes a live node as another version would: its node lease, its entry in the live-node index and, when `format`
 * is given, its format as this version writes it (a version without formats writes none).
 */
async function otherVersionNode (redis: RedisConnection, nodeId: string, format?: string, expiry = Date.now() + 60_000): Promise<void> {
  const prefix = redis.keys.prefix
  await redis.run('test.node', async (client) => {
    await client.set(`${prefix}node:{${nodeId}}`, 'their-token', 'PX', 60_000)
    await client.zadd(`${prefix}nodes`, expiry, nodeId)
    if (format !== undefined) await client.hset(`${prefix}node-formats`, nodeId, `${format}:${expiry}`)
  })
}

async function otherVersionNodeLeaves (redis: RedisConnection, nodeId: string): Promise<void> {
  const prefix = redis.keys.prefix
  await redis.run('test.node', async (client) => {
    await client.del(`${prefix}node:{${nodeId}}`)
    await client.zrem(`${prefix}nodes`, nodeId)
  })
}

function states (): { seen: ClusterState[], next: (state: ClusterState) => Promise<void>, stateChange: (state: ClusterState) => void } {
  const seen: ClusterState[] = []
  const waiting: Array<{ state: ClusterState, resolve: () => void }> = []
  return {
    seen,
    next: async (state) => await new Promise<void>((resolve) => { waiting.push({ state, resolve }) }),
    stateChange: (state) => {
      seen.push(state)
      for (const w of waiting.splice(0)) {
        if (w.state === state) w.resolve()
        else waiting.push(w)
      }
    }
  }
}

const server = await redisServerOrSkip(t)

if (server !== undefined) {
  t.test('a node does not join while a node of a version without formats is live, serves nothing across, and joins once it left', async (t) => {
    const redis = await connect(t, server)
    await otherVersionNode(redis, 'old-node')
    const logger = recordingLogger()
    const link = states()
    const cluster = new RedisCluster({ connection: redis, nodeId: 'n1', nodeLeaseMs: 300, logger })
    t.teardown(async () => await cluster.stop())
    await cluster.start({ deliver: () => true, nodeMessage: () => {}, clientLost: () => {}, stateChange: link.stateChange })

    // Claimed at once after start(): the claim waits for the node lease, which is refused.
    await t.rejects(cluster.claim(record, 'if-absent'), {
      code: 'AIP_ERR_CLUSTER_UNAVAILABLE',
      cause: { code: 'AIP_ERR_REDIS_CLUSTER_FORMAT', nodeId: 'old-node', format: '0', ownFormat: CLUSTER_FORMAT }
    })
    t.equal(cluster.state, 'down')
    t.equal(link.seen.at(-1), 'down', 'the device server is told the link is down')
    t.match(cluster.refusal, { code: 'AIP_ERR_REDIS_CLUSTER_FORMAT', nodeId: 'old-node', format: '0' })
    t.match(cluster.problem, { code: 'AIP_ERR_REDIS_CLUSTER_FORMAT', message: /old-node/ }, 'a health endpoint shows why')
    t.same(await cluster.listNodes(), ['old-node'], 'the refused node is not listed as live')
    t.equal(await cluster.locate('dev-1'), null, 'no client lease was taken')
    await t.rejects(cluster.sendToHolder('dev-2', { kind: 'cancel', sessionId: 's', reason: 'x' } as never, 'device'), { code: 'AIP_ERR_CLUSTER_UNAVAILABLE' })
    await t.rejects(cluster.send('dev-2', { kind: 'cancel', sessionId: 's', reason: 'x' } as never, 'old-node'), { code: 'AIP_ERR_CLUSTER_UNAVAILABLE' })
    await t.rejects(cluster.sendToNode('old-node', { kind: 'fenced', clientId: 'dev-2', by: 'n1' }), { code: 'AIP_ERR_CLUSTER_UNAVAILABLE' })
    await t.rejects(cluster.putResult({ sessionId: 's' } as never), { code: 'AIP_ERR_CLUSTER_UNAVAILABLE' })

    // Tried again at every sweep, logged once.
    await logged(logger, 'debug', /node lease not renewed/, 2)
    const errors = logger.lines.filter((line) => line.level === 'error')
    t.equal(errors.length, 1, 'one error for the refusal, however many sweeps')
    t.match(errors[0], { msg: /another cluster format/, obj: { otherNode: 'old-node', format: '0', ownFormat: CLUSTER_FORMAT } })

    const ready = link.next('ready')
    await otherVersionNodeLeaves(redis, 'old-node')
    await ready
    t.equal(cluster.state, 'ready')
    t.equal(cluster.refusal, null)
    t.equal(cluster.problem, null)
    t.ok(logger.lines.some((line) => line.level === 'info' && /joined/.test(line.msg)), 'the join is logged')
    t.same(await cluster.listNodes(), ['n1'])
    t.match(await cluster.claim(record, 'if-absent'), { claimed: true })
  })

  t.test('a node of another declared format is refused the same way; a format whose expiry is not its index entry\'s counts as none', async (t) => {
    const redis = await connect(t, server)
    await otherVersionNode(redis, 'next-node', String(CLUSTER_FORMAT + 1))
    const cluster = new RedisCluster({ connection: redis, nodeId: 'n1', nodeLeaseMs: 300 })
    t.teardown(async () => await cluster.stop())
    await cluster.start({ deliver: () => true, nodeMessage: () => {}, clientLost: () => {}, stateChange: () => {} })
    await t.rejects(cluster.claim(record, 'if-absent'), { cause: { code: 'AIP_ERR_REDIS_CLUSTER_FORMAT', nodeId: 'next-node', format: String(CLUSTER_FORMAT + 1) } })

    // The same node id renewed by a version without formats: its index entry moved, the hash did not.
    const redis2 = await connect(t, server)
    await otherVersionNode(redis2, 'reused-id', String(CLUSTER_FORMAT), Date.now() + 60_000)
    await redis2.run('test.node', async (client) => await client.zadd(`${redis2.keys.prefix}nodes`, Date.now() + 61_000, 'reused-id'))
    const other = new RedisCluster({ connection: redis2, nodeId: 'n2', nodeLeaseMs: 300 })
    t.teardown(async () => await other.stop())
    await other.start({ deliver: () => true, nodeMessage: () => {}, clientLost: () => {}, stateChange: () => {} })
    await t.rejects(other.claim(record, 'if-absent'), { cause: { nodeId: 'reused-id', format: '0' } })
  })

  t.test('nodes of this format join one cluster; a leaving node removes its format entry, which has a TTL', async (t) => {
    const redis = await connect(t, server)
    const a = new RedisCluster({ connection: redis, nodeId: 'a', nodeLeaseMs: 300 })
    const b = new RedisCluster({ connection: redis, nodeId: 'b', nodeLeaseMs: 300 })
    const handlers = { deliver: () => true, nodeMessage: () => {}, clientLost: () => {}, stateChange: () => {} }
    await a.start(handlers)
    await b.start(handlers)
    t.teardown(async () => await b.stop())
    t.match(await a.claim(record, 'if-absent'), { claimed: true })
    t.match(await b.claim({ ...record, clientId: 'dev-2' }, 'if-absent'), { claimed: true })
    t.same(await a.listNodes(), ['a', 'b'])
    const formats = `${redis.keys.prefix}node-formats`
    const entries = await redis.run('test.formats', async (client) => await client.hgetall(formats))
    t.same(Object.keys(entries).sort(), ['a', 'b'])
    t.match(entries.a, new RegExp(`^${CLUSTER_FORMAT}:\\d+$`))
    t.ok(await redis.run('test.pttl', async (client) => await client.pttl(formats)) > 0, 'the format hash has a TTL')
    await a.stop()
    t.same(Object.keys(await redis.run('test.formats', async (client) => await client.hgetall(formats))), ['b'])
  })

  t.test('a node in the cluster logs once a node of a version without formats that joined after it, and goes on', async (t) => {
    const redis = await connect(t, server)
    const logger = recordingLogger()
    const cluster = new RedisCluster({ connection: redis, nodeId: 'n1', nodeLeaseMs: 300, logger })
    t.teardown(async () => await cluster.stop())
    await cluster.start({ deliver: () => true, nodeMessage: () => {}, clientLost: () => {}, stateChange: () => {} })
    t.match(await cluster.claim(record, 'if-absent'), { claimed: true }, 'joined')
    const reported = logged(logger, 'error', /joined after this one/)
    await otherVersionNode(redis, 'old-node')
    await reported
    t.match(logger.lines.find((line) => line.level === 'error'), { obj: { otherNode: 'old-node', format: '0' } })
    // Two more renewals of the node lease, then still one line.
    const renewals = async (): Promise<number> => Number((await redis.run('test.info', async (client) => await client.info('commandstats'))).match(/cmdstat_zadd:calls=(\d+)/)?.[1] ?? 0)
    const before = await renewals()
    t.ok(await eventually(async () => await renewals() >= before + 4), 'the node lease was renewed again')
    t.equal(logger.lines.filter((line) => line.level === 'error').length, 1)
    t.equal(cluster.state, 'ready')
    t.equal(cluster.refusal, null)
  })
}
