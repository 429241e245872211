import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Teardown } from '@aip/test-support'
import { DeviceServerEndpoint, type DeviceServerOptions } from '../../src/index.js'

/** A DeviceServerEndpoint serving a real HTTP server on 127.0.0.1, port 0. */
export interface TestServer {
  endpoint: DeviceServerEndpoint
  http: Server
  /** `ws://127.0.0.1:<port>/ws` */
  wsUrl: string
  port: number
}

export async function startServer (t: Teardown, options: DeviceServerOptions = {}): Promise<TestServer> {
  const endpoint = new DeviceServerEndpoint({ pingIntervalMs: 0, ...options })
  const http = createServer((_req, res) => { res.statusCode = 404; res.end() })
  const detach = endpoint.attach(http)
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  const port = (http.address() as AddressInfo).port
  t.teardown(async () => {
    await endpoint.stop()
    detach()
    http.closeAllConnections()
    await new Promise<void>((resolve) => http.close(() => resolve()))
  })
  return { endpoint, http, wsUrl: `ws://127.0.0.1:${port}/ws`, port }
}

export {
  TestClient, deviceRegister, constellationRegister, registered, registeredDevice, registeredConstellation, echoDevice, until, type Closed
} from '@aip/test-support'
