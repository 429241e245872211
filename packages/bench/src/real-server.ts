import type { AddressInfo } from 'node:net'
import Fastify from 'fastify'
import type { Agent } from '@aip/device-server'
import aipPlugin from 'fastify-aip'
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

export async function startRealServer (port: number, onRegistered: () => void, { metrics = false } = {}): Promise<RealServer> {
  const app = Fastify({ logger: false })
  // Limits raised so that the load itself is never refused; liveness pings off, as in the baseline. With
  // `metrics`, every metric is collected (the route is left out: scraping is not what is measured).
  await app.register(aipPlugin, {
    agent: oneCommand, pingIntervalMs: 0, maxSessions: 1_000_000, maxQueuedFrames: 100_000, http: false, maxConnectionsPerAddress: 0, maxConnections: null, metrics: metrics ? { path: false } : false
  })
  app.aip.on('clientRegistered', onRegistered)
  await app.listen({ port, host: '127.0.0.1' })
  return {
    address: app.server.address() as AddressInfo,
    registered: () => app.aip.options.registry.size,
    close: async () => { await app.close() }
  }
}
