import { test } from 'tap'
import type { Agent } from '../src/index.js'
import { API_KEY, TOKEN, buildApp, echoDevice, listen, registeredDevice } from './helpers/harness.js'

// Task and COMMAND durations are Prometheus histograms fed on the task path in plain numbers: the metrics listen to
// no task event (no event object is built for them), and an application's own listeners still get theirs.

const agent: Agent = async (task, context) => {
  await context.execute([{ tool_name: 'list_tools', parameters: {}, tool_type: 'data_collection' }])
  return task.request === 'fail' ? { status: 'failed', error: 'asked to fail' } : { status: 'completed' }
}

/** The sample lines of the text format whose series starts with `prefix`. */
function samples (text: string, prefix: string): string[] {
  return text.split('\n').filter((line) => line.startsWith(prefix))
}

test('task and command durations are cumulative histograms, counted without listening to task events', async (t) => {
  const app = await buildApp(t, { agent, token: TOKEN, apiKey: API_KEY, metrics: true })
  const events = (app.aip as unknown as { events: { listenerCount: (event: string) => number } }).events
  for (const event of ['sessionStarted', 'taskEnd', 'commandEnd']) t.equal(events.listenerCount(event), 0, `the metrics do not listen to ${event}`)
  const { ws } = await listen(app)
  const device = await registeredDevice(t, `${ws}/ws?token=${TOKEN}`, 'durations-dev')
  echoDevice(device, 'durations-dev')
  const ended: string[] = []
  app.aip.on('commandEnd', (event) => { ended.push(event.status) })

  t.match(await app.aip.tasks.dispatch('durations-dev', 'list', { timeoutMs: 5000 }), { status: 'completed' })
  t.match(await app.aip.tasks.dispatch('durations-dev', 'fail', { timeoutMs: 5000 }), { status: 'failed' })
  t.same(ended, ['ok', 'ok'], 'an application listening to commandEnd still gets every event')

  const text = (await app.inject({ url: '/metrics', headers: { 'x-api-key': API_KEY } })).body
  t.same(samples(text, 'aip_tasks_total'), ['aip_tasks_total{outcome="completed"} 1', 'aip_tasks_total{outcome="failed"} 1'])
  t.same(samples(text, 'aip_tasks_started_total'), ['aip_tasks_started_total 2'])
  for (const outcome of ['completed', 'failed']) {
    const buckets = samples(text, 'aip_task_duration_seconds_bucket').filter((line) => line.includes(`outcome="${outcome}"`))
    t.equal(buckets.length, 14, `${outcome}: 13 buckets and +Inf`)
    t.match(buckets[0], /^aip_task_duration_seconds_bucket\{le="0\.05",outcome="[a-z]+"\} [01]$/)
    t.equal(buckets.at(-1), `aip_task_duration_seconds_bucket{le="+Inf",outcome="${outcome}"} 1`)
    const counts = buckets.map((line) => Number(line.split(' ')[1]))
    t.ok(counts.every((count, i) => i === 0 || count >= (counts[i - 1] as number)), `${outcome}: cumulative`)
    t.same(samples(text, `aip_task_duration_seconds_count{outcome="${outcome}"}`), [`aip_task_duration_seconds_count{outcome="${outcome}"} 1`])
    t.match(samples(text, `aip_task_duration_seconds_sum{outcome="${outcome}"}`)[0], /^\S+ \d+(\.\d+)?(e-\d+)?$/)
  }
  t.same(samples(text, 'aip_command_duration_seconds_count'), ['aip_command_duration_seconds_count{status="ok"} 2'], 'a status appears once observed')
  t.equal(samples(text, 'aip_command_duration_seconds_bucket{le="+Inf",status="ok"}')[0], 'aip_command_duration_seconds_bucket{le="+Inf",status="ok"} 2')
})
