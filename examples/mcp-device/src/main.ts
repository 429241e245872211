import { fileURLToPath } from 'node:url'
import Fastify from 'fastify'
import { ConstellationEndpoint } from '@aip/constellation'
import { DeviceClientEndpoint } from '@aip/device-client'
import { planAgent } from '@aip/device-server'
import { McpExecutor } from '@aip/mcp-executor'
import type { MCPToolInfo, Result } from '@aip/protocol'
import aipPlugin from 'fastify-aip'

const log = (line: string): void => { process.stdout.write(`${line}\n`) }

/** The Results of the one COMMAND the plan agent ran for a task. */
function resultsOf (end: { result: unknown }): Result[] {
  return (end.result as Array<{ result: Result[] }>)[0]?.result ?? []
}

// 1. A device-agent server (Fastify + fastify-aip) whose agent runs JSON command plans, on 127.0.0.1.
const token = 'mcp-example'
const app = Fastify({ logger: false })
await app.register(aipPlugin, { agent: planAgent, token })
await app.listen({ host: '127.0.0.1', port: 0 })
const address = app.server.address()
const wsUrl = `ws://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/ws?token=${token}`
log(`server         listening on ${wsUrl.replace(/\?.*$/, '')}`)

// 2. A device whose tools are those of the inventory MCP server, started as a child process (stdio).
const mcp = new McpExecutor({
  servers: {
    inventory: {
      command: process.execPath,
      args: ['--import', import.meta.resolve('tsx'), fileURLToPath(new URL('inventory-server.ts', import.meta.url))]
    }
  }
})
mcp.on('serverUp', ({ server, tools }) => log(`mcp            ${server} is up with ${tools} tools`))
await mcp.start()
const device = new DeviceClientEndpoint({ wsUrl, clientId: 'storeroom', executor: mcp })
await device.start()
log('device         storeroom registered')

// 3. A constellation that drives the device.
const constellation = new ConstellationEndpoint({ taskName: 'stocktaking' })
let failures = 0
try {
  await constellation.connectToDevice({ deviceId: 'storeroom', serverUrl: wsUrl })
  const info = await constellation.requestDeviceInfo('storeroom') as { custom_metadata: { mcp_servers: Record<string, { status: string }> } }
  log(`constellation  storeroom reports MCP servers ${JSON.stringify(info.custom_metadata.mcp_servers)}`)

  const run = async (title: string, plan: Array<{ tool_name: string, parameters?: Record<string, unknown> }>): Promise<Result[]> => {
    const end = await constellation.sendTaskToDevice('storeroom', { request: JSON.stringify(plan), timeoutMs: 30_000 })
    const results = resultsOf(end)
    log(`task           ${title}: ${end.status}${end.status === 'completed' ? '' : ` (${String(end.error)})`}`)
    for (const [i, result] of results.entries()) {
      const shown = result.status !== 'success' ? result.error : Array.isArray(result.result) ? `${result.result.length} tools` : JSON.stringify(result.result)
      log(`                 ${plan[i]?.tool_name ?? '?'} -> ${result.status} ${String(shown)}`)
    }
    return results
  }

  const listing = await run('list the tools', [{ tool_name: 'list_tools' }])
  log(`                 tool keys: ${((listing[0]?.result ?? []) as MCPToolInfo[]).map((tool) => tool.tool_key).join(', ')}`)
  const delivery = await run('receive a delivery and ship an order', [
    { tool_name: 'receive', parameters: { item: 'cable', quantity: 8 } },
    { tool_name: 'inventory.ship', parameters: { item: 'cable', quantity: 15 } },
    { tool_name: 'stock' }
  ])
  const overdraw = await run('ship more adapters than there are', [
    { tool_name: 'ship', parameters: { item: 'adapter', quantity: 5 } },
    { tool_name: 'stock' }
  ])
  failures = [delivery, overdraw].flat().filter((r) => r.status === 'failure').length
} finally {
  await constellation.stop()
  await device.stop()
  await mcp.close()
  await app.close()
}
log(`done           ${failures} failed command (the overdrawn shipment), as expected`)
process.exitCode = failures === 1 ? 0 : 1
