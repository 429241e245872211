import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import { pathToFileURL } from 'node:url'
import Fastify from 'fastify'
import type { Agent, ClusterLink } from '@aip/device-server'
import aipPlugin, { type AipOptions } from 'fastify-aip'
import { BENCH_COMMAND } from './frames.js'

// The real server: a Fastify app with the fastify-aip plugin, validating every frame, with a one-command agent.

const oneCommand: Agent = async (_task, context) => {
  await context.execute([BENCH_COMMAND])
  return { status: 'completed' }
}

export interface RealServer {
  address: AddressInfo
  registered: () => number
  close: () => Promise<void>
}

/** Where the server's Redis is when it runs as a cluster node (the `redis` option of fastify-aip). */
export interface RealServerRedis {
  url: string
  keyPrefix: string
  nodeId: string
  /**
   * The node's clock-driven work pushed out of a measured window: `nodeLeaseMs` (hence the client leases' renewals
   * and the node watch), `pollIntervalMs` and `ackDelayMs` all set to this many ms (a mailbox is still acknowledged
   * once 256 handled entries wait). For the counted scenarios, which read the task path; the timed ones keep the
   * defaults. Under callgrind everything runs some 50 times slower: the Redis command timeout and the time a
   * connection has to send its REGISTER are set to this too, so that a slow moment is not taken for Redis being
   * away (a task failed with `The cluster is unavailable`) or a client that never registers.
   */
  clockMs?: number
}

/** The `RedisCluster` constructor of `@aip/redis`, as much of it as the bench uses. */
type RedisClusterClass = new (options: { url: string, keyPrefix: string, nodeId: string, nodeLeaseMs: number, pollIntervalMs: number, ackDelayMs: number, redis: { commandTimeoutMs: number } }) => ClusterLink

/**
 * fastify-aip's `redis` option names only the node lease; for the other timings the bench builds the `RedisCluster`
 * itself and hands it over as `cluster`, from the `@aip/redis` fastify-aip loads (the bench does not depend on it).
 */
async function clusterWithClock (redis: RealServerRedis, clockMs: number): Promise<ClusterLink> {
  const fromPlugin = createRequire(createRequire(import.meta.url).resolve('fastify-aip'))
  const { RedisCluster } = await import(pathToFileURL(fromPlugin.resolve('@aip/redis')).href) as { RedisCluster: RedisClusterClass }
  return new RedisCluster({ url: redis.url, keyPrefix: redis.keyPrefix, nodeId: redis.nodeId, nodeLeaseMs: clockMs, pollIntervalMs: clockMs, ackDelayMs: clockMs, redis: { commandTimeoutMs: clockMs } })
}

/** How the real server is set up beyond its defaults. */
export interface RealServerOptions {
  /** Collect every Prometheus metric. */
  metrics?: boolean
  /** Run as one node of a cluster on this Redis. */
  redis?: RealServerRedis
  /** fastify-aip's `upgrade` option. Default `'direct'`, as `aip serve` runs. */
  upgrade?: 'route' | 'direct'
  /** The listen backlog (Node's default, 511, unless given; the kernel caps it at `net.core.somaxconn`). */
  backlog?: number
}

export async function startRealServer (port: number, onRegistered: () => void, { metrics = false, redis, upgrade = 'direct', backlog }: RealServerOptions = {}): Promise<RealServer> {
  const app = Fastify({ logger: false })
  // Limits raised so that the load itself is never refused; liveness pings off, as in the baseline. With
  // `metrics`, every metric is collected (the route is left out: scraping is not what is measured). With `redis`,
  // the server is one node of a cluster on that Redis. Upgrades are taken directly, as `aip serve` does, unless
  // `upgrade: 'route'` asks for the route (the app's hooks running for them).
  const options: AipOptions = {
    agent: oneCommand, pingIntervalMs: 0, maxSessions: 1_000_000, maxQueuedFrames: 100_000, http: false, maxConnectionsPerAddress: 0, maxConnections: null, metrics: metrics ? { path: false } : false, upgrade
  }
  if (redis?.clockMs !== undefined) {
    options.cluster = await clusterWithClock(redis, redis.clockMs)
    options.registrationTimeoutMs = redis.clockMs
  } else if (redis !== undefined) options.redis = { url: redis.url, keyPrefix: redis.keyPrefix, nodeId: redis.nodeId }
  await app.register(aipPlugin, options)
  app.aip.on('clientRegistered', onRegistered)
  await app.listen({ port, host: '127.0.0.1', ...(backlog === undefined ? {} : { backlog }) })
  return {
    address: app.server.address() as AddressInfo,
    registered: () => app.aip.options.registry.size,
    close: async () => { await app.close() }
  }
}
