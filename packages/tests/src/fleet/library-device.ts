/*
 * The smallest device program a user writes: start, and nothing else. It must stay up while its server is gone.
 * argv: <wsUrl> <clientId>. Prints each state change as a JSON line.
 */
import { DeviceClientEndpoint } from '@aip/device-client'

const [wsUrl, clientId] = process.argv.slice(2)
if (wsUrl === undefined || clientId === undefined) throw new Error('usage: library-device <wsUrl> <clientId>')
const device = new DeviceClientEndpoint({ wsUrl, clientId, tools: { echo: { handler: async (params) => params } } })
device.on('state', ({ state }) => {
  process.stdout.write(`${JSON.stringify({ device: clientId, state: state.kind, ...(state.kind === 'reconnecting' ? { attempt: state.attempt } : {}) })}\n`)
})
await device.start()
