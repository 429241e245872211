// A server (Fastify with fastify-aip), a device and a constellation on 127.0.0.1, all from the installed
// packages: one task goes round and its TASK_END is printed as one JSON line.
import type { AddressInfo } from 'node:net'
import Fastify from 'fastify'
import aipPlugin from 'fastify-aip'
import { ConstellationEndpoint } from '@aip/constellation'
import { DeviceClientEndpoint, type ToolSet } from '@aip/device-client'
import { planAgent } from '@aip/device-server'
import { redactUrl } from '@aip/endpoint'
import { ProtocolErrorCode } from '@aip/protocol'
import { codeOf, sampleErrors } from './errors.js'

const token = 'consumer-token'
const tools: ToolSet = {
  echo: { description: 'Answers with its parameters.', handler: (params) => ({ echoed: params }) }
}

const app = Fastify({ logger: false })
await app.register(aipPlugin, { agent: planAgent, token })
await app.listen({ host: '127.0.0.1', port: 0 })
const { port } = app.server.address() as AddressInfo
const wsUrl = `ws://127.0.0.1:${port}/ws?token=${token}`

const device = new DeviceClientEndpoint({ wsUrl, clientId: 'consumer-device', platform: 'linux', tools })
const constellation = new ConstellationEndpoint({ taskName: 'consumer' })
try {
  await device.start()
  await constellation.connectToDevice({ deviceId: 'consumer-device', serverUrl: wsUrl })
  const end = await constellation.sendTaskToDevice('consumer-device', {
    request: JSON.stringify([{ tool_name: 'echo', parameters: { word: 'hello' } }]),
    timeoutMs: 20_000
  })
  process.stdout.write(`${JSON.stringify({
    status: end.status,
    result: end.result,
    codes: sampleErrors().map(codeOf),
    invalidJson: ProtocolErrorCode.INVALID_JSON,
    redacted: redactUrl(wsUrl)
  })}\n`)
} finally {
  await constellation.stop()
  await device.stop()
  await app.close()
}
