import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { TestClient, type ReplayServer, type Teardown } from '@aip/test-support'
import { WebSocketServer } from 'ws'
import { DeviceServerEndpoint, type DeviceServerOptions } from '../../src/index.js'
import { startServer } from './harness.js'

/** One way to put a DeviceServerEndpoint behind a socket: each replay runs against every one. */
export type Adapter = (t: Teardown, options: DeviceServerOptions) => Promise<ReplayServer>

const TOKEN = 'adapter-secret'

export const adapters: Record<string, Adapter> = {
  /** `endpoint.attach(httpServer)`: the endpoint serves the upgrades itself. */
  'attach (node:http upgrades)': async (t, options) => {
    const { endpoint, wsUrl } = await startServer(t, { token: TOKEN, ...options })
    return {
      connect: async (t) => await TestClient.connect(t, `${wsUrl}?token=${TOKEN}`),
      clientIds: () => endpoint.listClients().map((c) => c.clientId),
      result: (sessionId) => endpoint.getResult(sessionId)
    }
  },
  /** `handleWebSocket(socket, request)`: a `ws` server of the application's own hands each socket over. */
  'handleWebSocket (ws server of the application)': async (t, options) => {
    const endpoint = new DeviceServerEndpoint({ pingIntervalMs: 0, token: TOKEN, ...options })
    const http = createServer()
    const wss = new WebSocketServer({ server: http, path: '/ws' })
    wss.on('connection', (socket, request) => endpoint.handleWebSocket(socket, request))
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
    const { port } = http.address() as AddressInfo
    t.teardown(async () => {
      await endpoint.stop()
      await new Promise<void>((resolve) => wss.close(() => resolve()))
      http.closeAllConnections()
      await new Promise<void>((resolve) => http.close(() => resolve()))
    })
    return {
      connect: async (t) => await TestClient.connect(t, `ws://127.0.0.1:${port}/ws?token=${TOKEN}`),
      clientIds: () => endpoint.listClients().map((c) => c.clientId),
      result: (sessionId) => endpoint.getResult(sessionId)
    }
  }
}
