// What every Redis test file shares: a connection per test, on its own key prefix, closed in teardown.
import { randomUUID } from 'node:crypto'
import { RedisConnection, RedisDeliveryLog, RedisLeaseRegistry, RedisResultStore } from '../../src/index.js'
import type { RedisConnectionOptions, RedisDeliveryLogOptions, ResultKeys } from '../../src/index.js'
import type { RedisServer } from './redis-server.js'

interface TeardownLike { teardown: (fn: () => unknown) => void }

/** A ready connection to `server` on a fresh key prefix, closed when `t` ends. */
export async function connect (t: TeardownLike, server: RedisServer, options: RedisConnectionOptions = {}): Promise<RedisConnection> {
  const redis = new RedisConnection({ url: server.url, keyPrefix: `t-${randomUUID().slice(0, 8)}:`, ...options })
  t.teardown(async () => await redis.close())
  await redis.waitReady({ timeoutMs: 10_000 })
  return redis
}

/** A delivery log (with `logOptions`) and a lease registry on one fresh connection to `server`, as {@link connect}. */
export async function logAndLeases (t: TeardownLike, server: RedisServer, logOptions: RedisDeliveryLogOptions = {}): Promise<{ redis: RedisConnection, log: RedisDeliveryLog, leases: RedisLeaseRegistry }> {
  const redis = await connect(t, server)
  return { redis, log: new RedisDeliveryLog(redis, logOptions), leases: new RedisLeaseRegistry(redis) }
}

/** A result store writing with a delivery log's turns (as a node's), results kept 60 s, on a fresh connection. */
export async function resultsWithLog<T extends ResultKeys> (t: TeardownLike, server: RedisServer): Promise<{ redis: RedisConnection, log: RedisDeliveryLog, results: RedisResultStore<T> }> {
  const redis = await connect(t, server)
  const log = new RedisDeliveryLog(redis)
  return { redis, log, results: new RedisResultStore<T>(redis, { deliveryLog: log, ttlMs: 60_000 }) }
}

/** The TTL left to a key (full name), in ms. */
export async function pttl (redis: RedisConnection, key: string): Promise<number> {
  return await redis.run('test.pttl', async (client) => await client.pttl(key))
}

/** Resolves once `predicate` holds, checking every `intervalMs`, at most `tries` times. */
export async function eventually (predicate: () => Promise<boolean> | boolean, tries = 200, intervalMs = 25): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (await predicate()) return true
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
  return false
}

/**
 * Calls of one Redis command run so far by the server behind `redis` (`INFO commandstats`; the commands scripts run
 * are counted under their own names, `xinfo|stream` for a subcommand).
 */
export async function commandCalls (redis: RedisConnection, command: string): Promise<number> {
  const info = await redis.run('test.info', async (client) => await client.info('commandstats'))
  const match = new RegExp(`cmdstat_${command.replace('|', '\\|')}:calls=(\\d+)`).exec(info)
  return match === null ? 0 : Number(match[1])
}

/**
 * Script calls run so far by the server behind `redis` that did not fail: `FCALL`, `EVALSHA` and `EVAL` (a first
 * `FCALL` answered "not found", or an `EVALSHA` answered `NOSCRIPT`, before a script is loaded is not counted).
 */
export async function scriptCalls (redis: RedisConnection): Promise<number> {
  const info = await redis.run('test.info', async (client) => await client.info('commandstats'))
  let total = 0
  for (const command of ['fcall', 'evalsha', 'eval']) {
    const match = new RegExp(`cmdstat_${command}:calls=(\\d+),.*failed_calls=(\\d+)`).exec(info)
    if (match !== null) total += Number(match[1]) - Number(match[2])
  }
  return total
}
