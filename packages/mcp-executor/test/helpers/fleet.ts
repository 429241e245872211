import { fileURLToPath } from 'node:url'
import Fastify, { type FastifyInstance } from 'fastify'
import { ConstellationEndpoint } from '@aip/constellation'
import { DeviceClientEndpoint } from '@aip/device-client'
import { planAgent } from '@aip/device-server'
import aipPlugin from 'fastify-aip'
import { McpExecutor, type McpExecutorEvents, type McpExecutorOptions, type McpStdioServer } from '../../src/index.js'
import type { Teardown } from './http-server.js'

/** The stdio calc server of the fixtures, run by this Node.js. */
export function calcServer (extra: Partial<McpStdioServer> = {}): McpStdioServer {
  return { command: process.execPath, args: [fileURLToPath(new URL('../fixtures/calc-server.mjs', import.meta.url))], ...extra }
}

/** An executor whose `close()` is registered as teardown at once. */
export function executor (t: Teardown, options: McpExecutorOptions): McpExecutor {
  const mcp = new McpExecutor(options)
  t.teardown(() => mcp.close())
  return mcp
}

/** The next event of `name` (optionally matching), or a rejection after `timeoutMs`. */
export function nextEvent<K extends keyof McpExecutorEvents> (
  mcp: McpExecutor, name: K, match: (payload: McpExecutorEvents[K]) => boolean = () => true, timeoutMs = 10_000
): Promise<McpExecutorEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { off(); reject(new Error(`no ${String(name)} event within ${timeoutMs} ms`)) }, timeoutMs)
    const off = mcp.on(name, (payload) => {
      if (!match(payload)) return
      clearTimeout(timer)
      off()
      resolve(payload)
    })
  })
}

/** A Fastify server with fastify-aip and the plan agent, a device running `mcp`, and a constellation connected to it. */
export interface Fleet {
  app: FastifyInstance
  device: DeviceClientEndpoint
  constellation: ConstellationEndpoint
  wsUrl: string
}

export async function startFleet (t: Teardown, mcp: McpExecutor, deviceId = 'mcp-device'): Promise<Fleet> {
  const token = 'mcp-token'
  const app = Fastify({ logger: false })
  await app.register(aipPlugin, { agent: planAgent, token })
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.close())
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  const wsUrl = `ws://127.0.0.1:${port}/ws?token=${token}`
  await mcp.start()
  const device = new DeviceClientEndpoint({ wsUrl, clientId: deviceId, platform: 'linux', executor: mcp })
  t.teardown(() => device.stop())
  await device.start()
  const constellation = new ConstellationEndpoint({ taskName: 'mcp' })
  t.teardown(() => constellation.stop())
  await constellation.connectToDevice({ deviceId, serverUrl: wsUrl })
  return { app, device, constellation, wsUrl }
}
