import Fastify, { type FastifyInstance } from 'fastify'
import { planAgent } from '@aip/device-server'
import aipPlugin from 'fastify-aip'

/**
 * An existing Fastify app (an inventory service) that also serves AIP devices on /ws and uses them from its own
 * routes through `fastify.aip.tasks`.
 */
export async function buildApp (options: { token: string, apiKey?: string }): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })

  // The app's own routes, untouched by the plugin.
  app.get('/inventory', async () => ({ items: ['laptop', 'desktop'] }))

  await app.register(aipPlugin, { agent: planAgent, token: options.token, ...(options.apiKey === undefined ? {} : { apiKey: options.apiKey }) })

  // Which devices are online, from the plugin's registry.
  app.get('/devices', async () => ({
    devices: app.aip.listClients().filter((c) => c.clientType === 'device').map((c) => ({ id: c.clientId, platform: c.platform }))
  }))

  // A route of the app that runs a tool on a device and answers with its result.
  app.post<{ Params: { device: string }, Body: { tool: string, parameters?: Record<string, unknown> } }>('/devices/:device/run', {
    schema: {
      params: { type: 'object', properties: { device: { type: 'string' } }, required: ['device'] },
      body: {
        type: 'object',
        properties: { tool: { type: 'string', minLength: 1 }, parameters: { type: 'object' } },
        required: ['tool'],
        additionalProperties: false
      }
    }
  }, async (request, reply) => {
    const { device } = request.params
    if (!app.aip.isConnected(device)) return await reply.code(404).send({ error: `device ${device} is not connected` })
    const plan = JSON.stringify([{ tool_name: request.body.tool, parameters: request.body.parameters ?? {} }])
    const record = await app.aip.tasks.dispatch(device, plan, { taskName: `run_${request.body.tool}`, timeoutMs: 30_000 })
    const steps = record.result as Array<{ result: Array<{ status: string, result: unknown, error: string | null }> }>
    const result = steps.at(-1)?.result.at(-1)
    return { session: record.sessionId, status: record.status, result: result?.result ?? null, error: record.error }
  })

  return app
}
