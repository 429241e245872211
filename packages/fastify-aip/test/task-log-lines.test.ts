import { test } from 'tap'
import type { Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { logsAt } from '@aip/endpoint/internal'
import type { Agent } from '../src/index.js'
import { buildApp, echoDevice, injectedDevice, logCapture } from './helpers/harness.js'

// Every task writes a `task started` and a `task ended` line with its ids and trace id when the app's logger
// writes at info; with Fastify's `logger: false` nothing is built for them.

const agent: Agent = async (_task, context) => {
  await context.execute([{ tool_name: 'list_tools', parameters: {}, tool_type: 'data_collection' }])
  return { status: 'completed' }
}

/** An app whose pino logger writes at `level` into a capture, with echo device `deviceId` registered on it. */
async function loggedApp (t: Test, level: 'info' | 'warn', deviceId: string): Promise<{ app: FastifyInstance, log: ReturnType<typeof logCapture> }> {
  const keepAlive = setInterval(() => {}, 1000)
  t.teardown(() => clearInterval(keepAlive))
  const log = logCapture()
  const app = await buildApp(t, { agent }, { logger: { level, stream: log.stream } })
  const device = await injectedDevice(t, app, '/ws', deviceId)
  echoDevice(device, deviceId)
  return { app, log }
}

test('a pino logger at info gets both lines of every task, with session id, task name, device id and trace id', async (t) => {
  const { app, log } = await loggedApp(t, 'info', 'log-task-dev')
  const records = []
  for (let i = 0; i < 3; i++) records.push(await app.aip.tasks.dispatch('log-task-dev', 'list', { taskName: `logged-${i}` }))
  const lines = log.lines
  for (const record of records) {
    const started = lines.find((l) => l.msg === 'task started' && l.sessionId === record.sessionId)
    const ended = lines.find((l) => l.msg === 'task ended' && l.sessionId === record.sessionId)
    t.match(started, { taskName: record.taskName, deviceId: 'log-task-dev', traceId: /^[0-9a-f]{32}$/ }, `task started of ${record.taskName}`)
    t.match(ended, { deviceId: 'log-task-dev', status: 'completed', traceId: started?.traceId }, `task ended of ${record.taskName}, same trace`)
  }
})

test('a pino logger at warn gets neither line', async (t) => {
  const { app, log } = await loggedApp(t, 'warn', 'quiet-task-dev')
  const record = await app.aip.tasks.dispatch('quiet-task-dev', 'list')
  t.equal(record.status, 'completed')
  t.equal(log.lines.filter((l) => l.msg === 'task started' || l.msg === 'task ended').length, 0)
})

test('Fastify\'s logger: false logger is told apart as writing nothing, at every level', async (t) => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  for (const level of ['debug', 'info', 'warn', 'error'] as const) t.equal(logsAt(app.log, level), false, level)
  const child = app.log.child({ plugin: 'fastify-aip' })
  t.equal(logsAt(child, 'info'), false, 'its child too')
})
