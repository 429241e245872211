import type { FastifyInstance } from 'fastify'
import type { ReplayServer, Teardown } from '@aip/test-support'
import type { AipOptions } from '../../src/index.js'
import { buildApp, injectClient, listen, TestClient, TOKEN } from './harness.js'

/** One way a client reaches the plugin: each replay runs against every one. */
export type Adapter = (t: Teardown, options: AipOptions) => Promise<ReplayServer>

function view (app: FastifyInstance): Pick<ReplayServer, 'clientIds' | 'result'> {
  return {
    clientIds: () => app.aip.listClients().map((c) => c.clientId),
    result: (sessionId) => app.aip.sessions.get(sessionId)
  }
}

export const adapters: Record<string, Adapter> = {
  'a listening port': async (t, options) => {
    const app = await buildApp(t, { token: TOKEN, ...options })
    const { ws } = await listen(app)
    return { connect: async (t) => await TestClient.connect(t, `${ws}/ws?token=${TOKEN}`), ...view(app) }
  },
  injectWS: async (t, options) => {
    const app = await buildApp(t, { token: TOKEN, ...options })
    return { connect: async (t) => await injectClient(t, app, `/ws?token=${TOKEN}`), ...view(app) }
  }
}
