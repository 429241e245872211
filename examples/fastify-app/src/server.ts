import { randomBytes } from 'node:crypto'
import { buildApp } from './app.js'

// pnpm --filter @aip/example-fastify-app start, then connect a device:
//   pnpm aip device --url "ws://127.0.0.1:3000/ws?token=<printed token>" --id laptop
// and call the app's own route:
//   curl -X POST localhost:3000/devices/laptop/run -H 'content-type: application/json' -d '{"tool":"system_info"}'
const token = process.env.AIP_TOKEN ?? randomBytes(16).toString('hex')
const app = await buildApp({ token })
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 3000) })
process.stdout.write(`inventory app on http://127.0.0.1:${String(process.env.PORT ?? 3000)}; devices connect to /ws?token=${token}\n`)
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => { app.close().then(() => process.exit(0), () => process.exit(1)) })
