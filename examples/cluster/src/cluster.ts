import { randomUUID } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { ConstellationEndpoint } from '@aip/constellation'
import { DeviceClientEndpoint } from '@aip/device-client'
import type { Agent } from '@aip/device-server'
import { startRedisServer } from '@aip/test-support'
import Fastify, { type FastifyInstance } from 'fastify'
import aipPlugin from 'fastify-aip'

const TOKEN = randomUUID()

/** Where one task ran: the device, the node whose agent drove it, and the node the orchestrator sent it through. */
export interface Placement {
  readonly device: string
  readonly status: 'completed' | 'failed'
  /** The node holding the device's connection: the agent runs there. */
  readonly agentNode: string
  /** The node the orchestrator is connected through. */
  readonly orchestratorNode: string
}

/** An agent that asks the device who it is and reports the node it ran on. */
function agentOn (nodeId: string): Agent {
  return async (_task, context) => {
    const [answer] = await context.execute([{ tool_name: 'whoami', parameters: {}, tool_type: 'data_collection' }], { timeoutMs: 10_000 })
    return { status: answer?.status === 'success' ? 'completed' : 'failed', result: { agentNode: nodeId, device: answer?.result ?? null } }
  }
}

/** One node: a Fastify app with the plugin, on the cluster's Redis, listening on a free port of 127.0.0.1. */
async function startNode (nodeId: string, redisUrl: string, keyPrefix: string): Promise<{ app: FastifyInstance, url: string }> {
  const app = Fastify()
  await app.register(aipPlugin, { token: TOKEN, agent: agentOn(nodeId), redis: { url: redisUrl, keyPrefix, nodeId } })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo
  return { app, url: `ws://127.0.0.1:${port}/ws?token=${TOKEN}` }
}

/**
 * Starts Redis (or uses `redisUrl`), two nodes, a device on each (each given both URLs, its own node first), and an
 * orchestrator connected through node B; sends a task to each device and resolves with where each ran.
 */
export async function runCluster (print: (line: string) => void, redisUrl?: string): Promise<Placement[]> {
  const redis = redisUrl === undefined ? await startRedisServer() : undefined
  const url = redisUrl ?? (redis as NonNullable<typeof redis>).url
  print(redis === undefined ? 'using Redis at REDIS_URL' : `started redis-server on port ${redis.port}`)
  const keyPrefix = `aip-example-${randomUUID().slice(0, 8)}:`
  const cleanup: Array<() => Promise<unknown>> = []
  try {
    const a = await startNode('node-a', url, keyPrefix)
    cleanup.push(() => a.app.close())
    const b = await startNode('node-b', url, keyPrefix)
    cleanup.push(() => b.app.close())
    print('node-a and node-b are up, one fleet on Redis')
    const devices = [
      new DeviceClientEndpoint({ wsUrl: [a.url, b.url], clientId: 'laptop', tools: { whoami: { handler: () => ({ device: 'laptop' }) } } }),
      new DeviceClientEndpoint({ wsUrl: [b.url, a.url], clientId: 'phone', tools: { whoami: { handler: () => ({ device: 'phone' }) } } })
    ]
    for (const device of devices) {
      cleanup.unshift(() => device.stop())
      device.on('registeredOn', ({ index }) => print(`device ${device.clientId} registered on ${index === 0 ? 'its first' : 'its second'} node`))
      await device.start()
    }
    const orchestrator = new ConstellationEndpoint({ taskName: 'cluster_demo' })
    cleanup.unshift(() => orchestrator.stop())
    for (const device of devices) await orchestrator.connectToDevice({ deviceId: device.clientId, serverUrl: [b.url, a.url] })
    print('the orchestrator is connected through node-b')
    const placements: Placement[] = []
    for (const device of devices) {
      const end = await orchestrator.sendTaskToDevice(device.clientId, { request: 'who are you?' })
      const agentNode = String((end.result as { agentNode?: string } | null)?.agentNode ?? 'unknown')
      const placement: Placement = { device: device.clientId, status: end.status, agentNode, orchestratorNode: 'node-b' }
      placements.push(placement)
      print(`task on ${placement.device}: ${placement.status}; its agent ran on ${placement.agentNode}, the orchestrator is on ${placement.orchestratorNode}`)
    }
    return placements
  } finally {
    for (const step of cleanup) await step().catch(() => {})
    await redis?.dispose()
  }
}
