import type { AddressInfo } from 'node:net'
import Fastify from 'fastify'
import { test } from 'tap'
import { ConstellationEndpoint } from '@aip/constellation'
import { DeviceClientEndpoint } from '@aip/device-client'
import { planAgent } from '@aip/device-server'
import aipPlugin from 'fastify-aip'

// One log shape per event (README, "Logs"): the lines of a task, on the constellation, the server and the device,
// all carry its `sessionId` (and `taskId` where the task id is known, on the constellation) and its `traceId`; the
// same event is logged with the same message and the same field names every time; ids are camel case.

type Line = Record<string, unknown>

const BASE = new Set(['level', 'time', 'pid', 'hostname', 'msg'])
const SNAKE_IDS = ['session_id', 'task_id', 'trace_id', 'client_id', 'device_id', 'request_id', 'response_id']

const TASKS = [
  { taskId: 'logs-a', traceId: '4bf92f3577b34da6a3ce929d0e0e4736' },
  { taskId: 'logs-b', traceId: '0af7651916cd43dd8448eb211c80319c' }
]

test('every line of a task, on all three endpoints, carries its sessionId and traceId; one shape per event', async (t) => {
  const lines: Line[] = []
  const app = Fastify({ logger: { level: 'debug', stream: { write: (text: string) => { lines.push(JSON.parse(text) as Line) } } } })
  t.teardown(() => app.close())
  await app.register(aipPlugin, { agent: planAgent, token: 'logs-token', pingIntervalMs: 0 })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const url = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/ws?token=logs-token`

  // The three endpoints log into one pino stream, as they would in one process of an operator's.
  const device = new DeviceClientEndpoint({ wsUrl: url, clientId: 'logs-dev', logger: app.log.child({}), tools: { probe: { handler: () => 'ok' } } })
  t.teardown(() => device.stop())
  await device.start()
  const constellation = new ConstellationEndpoint({ taskName: 'logs_galaxy', logger: app.log.child({}) })
  t.teardown(() => constellation.stop())
  await constellation.connectToDevice({ deviceId: 'logs-dev', serverUrl: url })

  const plan = JSON.stringify([{ tool_name: 'probe', parameters: {} }])
  const shapes = new Map<string, Set<string>>()
  for (const { taskId, traceId } of TASKS) {
    const end = await constellation.sendTaskToDevice('logs-dev', { request: plan, taskId, metadata: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } })
    t.equal(end.status, 'completed')
    const mine = lines.filter((line) => line.sessionId === end.sessionId || line.taskId === taskId)
    t.ok(mine.length > 0)
    for (const line of mine) {
      t.equal(line.sessionId, end.sessionId, `${String(line.msg)}: sessionId`)
      t.equal(line.traceId, traceId, `${String(line.msg)}: traceId`)
      if (line.component === 'aip-constellation') t.equal(line.taskId, taskId, `${String(line.msg)}: taskId on the constellation`)
      const shape = Object.keys(line).filter((key) => !BASE.has(key)).sort().join(',')
      const seen = shapes.get(String(line.msg)) ?? new Set()
      seen.add(shape)
      shapes.set(String(line.msg), seen)
    }
    const by = (component: (line: Line) => boolean): string[] => mine.filter(component).map((line) => String(line.msg))
    const has = (component: (line: Line) => boolean, msgs: string[], who: string): void => {
      const logged = by(component)
      for (const msg of msgs) t.ok(logged.includes(msg), `${who} logged "${msg}"`)
    }
    has((line) => line.component === 'aip-constellation', ['task queued', 'task sent', 'task settled'], 'the constellation')
    has((line) => line.plugin === 'fastify-aip', ['task started', 'task ended'], 'the server')
    has((line) => line.component === 'aip-device-client', ['COMMAND answered'], 'the device')
  }
  for (const [msg, seen] of shapes) t.equal(seen.size, 1, `"${msg}" has one shape: ${[...seen].join(' | ')}`)
  const snake = lines.flatMap((line) => SNAKE_IDS.filter((key) => key in line).map((key) => `${String(line.msg)}: ${key}`))
  t.same(snake, [], 'ids are named in camel case on every line')
})
