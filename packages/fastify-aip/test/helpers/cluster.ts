import { randomUUID } from 'node:crypto'
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import { redisServerOrSkip } from '@aip/test-support'
import { API_KEY, buildApp } from './harness.js'

/** Waits (bounded: 400 checks, 25 ms apart) until `check` holds; throws naming `what` otherwise. */
export async function eventually (check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  throw new Error(`never: ${what}`)
}

/**
 * Two apps (`node-a`, `node-b`) on a real redis-server started for the test, under a key prefix of their own; or
 * `undefined` when redis-server is missing (the test is then skipped, loudly). `fastifyA`: options of app A's
 * Fastify (a logger to capture, for instance).
 */
export async function twoAppsOnRedis (
  t: Parameters<typeof redisServerOrSkip>[0], fastifyA: FastifyServerOptions = {}
): Promise<{ a: FastifyInstance, b: FastifyInstance, redis: NonNullable<Awaited<ReturnType<typeof redisServerOrSkip>>> } | undefined> {
  const redis = await redisServerOrSkip(t)
  if (redis === undefined) return undefined
  const keyPrefix = `t-${randomUUID().slice(0, 8)}:`
  const a = await buildApp(t, { apiKey: API_KEY, redis: { url: redis.url, keyPrefix, nodeId: 'node-a' } }, fastifyA)
  const b = await buildApp(t, { apiKey: API_KEY, redis: { url: redis.url, keyPrefix, nodeId: 'node-b' } })
  return { a, b, redis }
}
