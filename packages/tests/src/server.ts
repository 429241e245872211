import Fastify, { type FastifyInstance } from 'fastify'
import aipPlugin from 'fastify-aip'
import { TaskFailedError, type Agent, type DeviceServerOptions } from '@aip/device-server'
import type { AipDeviceServer, AipOptions } from 'fastify-aip'

/** Options of the fastify-aip server the suites run against (the plugin's options). */
export interface AipServerOptions extends DeviceServerOptions, Pick<AipOptions, 'apiKey' | 'headersTimeoutMs' | 'maxConnections' | 'maxConnectionsPerAddress'> {}

/**
 * A Fastify app with fastify-aip on 127.0.0.1. `restart()` closes it (TASK_END failed to requesters, close 1001)
 * and listens again on the same port, as a real server restart does.
 */
export class AipServer {
  readonly options: AipServerOptions
  app!: FastifyInstance
  port = 0
  restarts = 0

  private constructor (options: AipServerOptions) {
    this.options = options
  }

  static async start (options: AipServerOptions = {}, port = 0): Promise<AipServer> {
    const server = new AipServer(options)
    server.port = port
    await server.#listen()
    return server
  }

  get aip (): AipDeviceServer {
    return this.app.aip
  }

  get wsUrl (): string {
    return `ws://127.0.0.1:${this.port}/ws`
  }

  async #listen (): Promise<void> {
    const app = Fastify({ logger: false, forceCloseConnections: true })
    await app.register(aipPlugin, { closeTimeoutMs: 2000, ...this.options })
    // A restart may race the old socket's TIME_WAIT; retry the bind briefly.
    for (let attempt = 0; ; attempt++) {
      try {
        await app.listen({ host: '127.0.0.1', port: this.port })
        break
      } catch (err) {
        if ((err as { code?: string }).code !== 'EADDRINUSE' || attempt > 50) throw err
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    }
    this.port = (app.server.address() as { port: number }).port
    this.app = app
  }

  async restart (downMs = 0): Promise<void> {
    await this.app.close()
    if (downMs > 0) await new Promise((resolve) => setTimeout(resolve, downMs))
    await this.#listen()
    this.restarts++
  }

  async close (): Promise<void> {
    await this.app.close()
  }
}

/**
 * The agent of the suites. The request is a small plan: `steps=<n>` COMMANDs of the `echo` tool, `fail` makes the
 * agent fail with a reason, `slow=<ms>` asks the tool to wait.
 */
export const testAgent: Agent = async (task, ctx) => {
  const steps = Number(/steps=(\d+)/.exec(task.request)?.[1] ?? 1)
  const slow = Number(/slow=(\d+)/.exec(task.request)?.[1] ?? 0)
  for (let i = 0; i < steps; i++) {
    const results = await ctx.execute([{ tool_name: 'echo', parameters: { step: i, slow }, tool_type: 'action' }], { timeoutMs: 5000 })
    if (results.some((r) => r.status !== 'success')) throw new TaskFailedError(`step ${i} failed: ${results[0]?.error ?? 'no result'}`)
  }
  if (task.request.includes('fail')) throw new TaskFailedError('the plan asked to fail')
  return { status: 'completed' }
}
