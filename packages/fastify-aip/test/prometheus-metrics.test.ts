import Fastify from 'fastify'
import { Registry } from 'prom-client'
import { test } from 'tap'
import { aipPlugin, type Agent } from '../src/index.js'
import { API_KEY, TOKEN, TestClient, buildApp, deviceRegister, echoDevice, listen, registeredDevice, until } from './helpers/harness.js'

// `metrics: true` serves the Prometheus text format at /metrics, behind the API key, fed by what happens.

const agent: Agent = async (_task, context) => {
  await context.execute([{ tool_name: 'list_tools', parameters: {}, tool_type: 'data_collection' }])
  return { status: 'completed' }
}

/** The value of one sample line (`name{labels} value`), or undefined when absent. */
function sample (text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

test('/metrics counts clients, registrations, refusals, tasks, commands, frames and errors, with no per-device label', async (t) => {
  const app = await buildApp(t, { agent, token: TOKEN, apiKey: API_KEY, metrics: true })
  const { ws } = await listen(app)
  const url = `${ws}/ws?token=${TOKEN}`
  const device = await registeredDevice(t, url, 'metrics-dev-1')
  echoDevice(device, 'metrics-dev-1')
  const twin = await TestClient.connect(t, url)
  t.match(await twin.ask(deviceRegister('metrics-dev-1')), { type: 'error' }, 'a duplicate REGISTER is refused')
  await twin.closed
  t.equal(await TestClient.refusedStatus(`${ws}/ws?token=wrong`), 403, 'an upgrade with a wrong token is refused')
  t.match(await app.aip.tasks.dispatch('metrics-dev-1', 'list', { timeoutMs: 5000 }), { status: 'completed' })
  device.send('{not json')
  t.match((await until(device, (f) => f.type === 'error')).frame, { type: 'error' }, 'a malformed frame gets an ERROR')

  const reply = await app.inject({ url: '/metrics', headers: { 'x-api-key': API_KEY } })
  t.equal(reply.statusCode, 200)
  t.match(reply.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  const text = reply.body
  t.equal(sample(text, 'aip_clients{type="device"}'), 1)
  t.equal(sample(text, 'aip_clients{type="constellation"}'), 0)
  t.equal(sample(text, 'aip_connections'), 1, 'the device (the refused twin is gone)')
  t.equal(sample(text, 'aip_registrations_total{type="device"}'), 1)
  t.equal(sample(text, 'aip_registration_refusals_total{reason="duplicate client_id"}'), 1)
  t.equal(sample(text, 'aip_registration_refusals_total{reason="forbidden upgrade"}'), 1)
  t.equal(sample(text, 'aip_tasks_started_total'), 1)
  t.equal(sample(text, 'aip_tasks_total{outcome="completed"}'), 1)
  t.equal(sample(text, 'aip_task_duration_seconds_count{outcome="completed"}'), 1)
  t.equal(sample(text, 'aip_command_duration_seconds_count{status="ok"}'), 1)
  t.equal(sample(text, 'aip_errors_total{code="AIP_ERR_PROTOCOL_INVALID_JSON"}'), 1, 'the malformed frame is counted by its code')
  t.ok((sample(text, 'aip_frames_received_total') ?? 0) >= 5, 'frames received: REGISTER x2, TASK, COMMAND_RESULTS, the malformed one')
  t.ok((sample(text, 'aip_frames_sent_total') ?? 0) >= 5, 'frames sent: HEARTBEAT ok, ERROR x2, TASK, COMMAND, TASK_END')
  t.equal(sample(text, 'aip_sessions_running'), 0)
  t.equal(sample(text, 'aip_dispatches_pending'), 0)
  t.equal(sample(text, 'aip_frames_queued'), 0)
  t.equal(sample(text, 'aip_draining'), 0)
  t.notMatch(text, /metrics-dev-1/, 'no device id in any label')

  device.ws.close()
  await device.closed
  for (let i = 0; i < 50 && app.aip.listClients().length > 0; i++) await new Promise((resolve) => setImmediate(resolve))
  const after = (await app.inject({ url: '/metrics', headers: { 'x-api-key': API_KEY } })).body
  t.equal(sample(after, 'aip_clients{type="device"}'), 0, 'a device that left is no longer counted')
  t.match(after, /^aip_disconnections_total\{type="device",code="\d+"\} 1$/m, 'its disconnection is counted by close code')
})

test('/metrics needs the API key (X-API-Key or a Bearer token) and is off unless asked', async (t) => {
  const app = await buildApp(t, { apiKey: API_KEY, metrics: { path: '/prom', prefix: 'fleet_', defaultMetrics: true } })
  t.equal((await app.inject({ url: '/prom' })).statusCode, 401)
  t.match((await app.inject({ url: '/prom' })).json(), { code: 'AIP_ERR_FASTIFY_MISSING_API_KEY' })
  t.match((await app.inject({ url: '/prom', headers: { 'x-api-key': 'wrong' } })).json(), { code: 'AIP_ERR_FASTIFY_INVALID_API_KEY' })
  const bearer = await app.inject({ url: '/prom', headers: { authorization: `Bearer ${API_KEY}` } })
  t.equal(bearer.statusCode, 200, 'Prometheus can send the key as a bearer token')
  t.match(bearer.body, /^fleet_connections 0$/m, 'the prefix is applied')
  t.match(bearer.body, /^fleet_process_cpu_seconds_total /m, 'default process metrics when asked')

  const plain = await buildApp(t, { apiKey: API_KEY })
  t.equal((await plain.inject({ url: '/metrics', headers: { 'x-api-key': API_KEY } })).statusCode, 404, 'no metrics by default')
})

test('metrics can go to a registry of the app, with no route, and invalid metrics options are refused', async (t) => {
  const registry = new Registry()
  const app = await buildApp(t, { metrics: { registry, path: false } })
  t.match(await registry.metrics(), /^aip_connections 0$/m, 'the app reads the metrics from its own registry')
  t.equal((await app.inject({ url: '/metrics' })).statusCode, 404)

  const bad: Array<[string, unknown]> = [
    ['metrics', 'yes'],
    ['metrics.path', { path: 'metrics' }],
    ['metrics.prefix', { prefix: 'a-b' }],
    ['metrics.defaultMetrics', { defaultMetrics: 1 }],
    ['metrics.registry', { registry: {} }],
    ['metrics', true]
  ]
  for (const [name, value] of bad) {
    const bare = Fastify()
    bare.register(aipPlugin, { metrics: value } as never)
    await t.rejects(async () => { await bare.ready() }, { code: 'AIP_ERR_INVALID_OPTION', message: new RegExp(`option ${name.replace('.', '\\.')}:`) }, `${name}: ${JSON.stringify(value)}`)
    await bare.close()
  }
})
