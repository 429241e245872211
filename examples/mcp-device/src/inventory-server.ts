// A small MCP server on stdio: the stock of a storeroom. The device of this example starts it as a child process
// and exposes its tools to the AIP server's agents.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js'
import { z } from 'zod'

const stock = new Map<string, number>([['cable', 12], ['adapter', 3]])

const server = new McpServer({ name: 'inventory', version: '1.0.0' })

server.registerTool('stock', {
  title: 'Stock',
  description: 'The quantity of every item',
  outputSchema: { items: z.record(z.string(), z.number()) },
  annotations: { readOnlyHint: true }
}, async () => {
  const items = Object.fromEntries(stock)
  return { content: [{ type: 'text', text: JSON.stringify(items) }], structuredContent: { items } }
})

server.registerTool('receive', {
  title: 'Receive',
  description: 'Adds delivered items to the stock',
  inputSchema: { item: z.string(), quantity: z.number().int().positive() }
}, async ({ item, quantity }) => {
  stock.set(item, (stock.get(item) ?? 0) + quantity)
  return { content: [{ type: 'text', text: `${item}: ${String(stock.get(item))}` }] }
})

server.registerTool('ship', {
  title: 'Ship',
  description: 'Takes items out of the stock; fails when there are not enough',
  inputSchema: { item: z.string(), quantity: z.number().int().positive() }
}, async ({ item, quantity }) => {
  const have = stock.get(item) ?? 0
  if (have < quantity) return { isError: true, content: [{ type: 'text', text: `only ${have} ${item} in stock, ${quantity} asked` }] }
  stock.set(item, have - quantity)
  return { content: [{ type: 'text', text: `${item}: ${String(have - quantity)}` }] }
})

await server.connect(new StdioServerTransport())
