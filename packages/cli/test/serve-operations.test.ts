import { test } from 'tap'
import WebSocket from 'ws'
import { AipProcess } from './helpers/processes.js'

// `aip serve --metrics --dashboard` as a real process: both behind the API key; SIGTERM drains before it exits.

/** Reads the dashboard's event stream until a picture matches (bounded), then closes it. */
async function picture (url: string, apiKey: string, match: (snapshot: any) => boolean): Promise<any> {
  const controller = new AbortController()
  const response = await fetch(url, { headers: { 'x-api-key': apiKey }, signal: controller.signal })
  const reader = (response.body as ReadableStream<Uint8Array>).getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  try {
    for (let i = 0; i < 200; i++) {
      const { value, done } = await reader.read()
      if (done) break
      buffer += decoder.decode(value, { stream: true })
      let end: number
      while ((end = buffer.indexOf('\n\n')) !== -1) {
        const data = /^data: (.*)$/m.exec(buffer.slice(0, end))?.[1]
        buffer = buffer.slice(end + 2)
        if (data !== undefined && match(JSON.parse(data))) return JSON.parse(data)
      }
    }
    throw new Error('no matching picture')
  } finally {
    controller.abort()
  }
}

test('aip serve --metrics --dashboard serves both behind the API key, and SIGTERM lets the running task finish', async (t) => {
  const serve = new AipProcess(t, ['serve', '--port', '0', '--token', 'ops-token', '--api-key', 'ops-key', '--metrics', '--dashboard', '--drain-timeout', '20000', '--json'])
  const started = JSON.parse(await serve.line('stdout', /^\{/)) as { wsUrl: string, httpUrl: string, metricsUrl: string, dashboardUrl: string }
  t.equal(started.metricsUrl, `${started.httpUrl}/metrics`)
  t.equal(started.dashboardUrl, `${started.httpUrl}/aip`)
  t.equal((await fetch(started.metricsUrl)).status, 401, 'metrics need the key')
  const metrics = await fetch(started.metricsUrl, { headers: { 'x-api-key': 'ops-key' } })
  t.match(await metrics.text(), /^aip_connections 0$/m, 'with the key, Prometheus text')
  t.match(await (await fetch(started.dashboardUrl)).text(), /id="login"/, 'the dashboard asks for the key')

  const device = new AipProcess(t, ['device', '--url', started.wsUrl, '--id', 'ops-dev', '--platform', 'linux', '--telemetry-interval', '100'])
  await device.line('stdout', /device ops-dev registered/)
  const task = new AipProcess(t, ['task', '--url', started.wsUrl, '--device', 'ops-dev', '--request', 'sleep {"ms":1500}', '--json'])
  const running = await picture(`${started.dashboardUrl}/events`, 'ops-key', (snapshot) => snapshot.sessions.length === 1 && snapshot.devices[0]?.telemetry.load_average !== undefined)
  t.match(running.devices, [{ id: 'ops-dev', state: 'busy' }], 'the task runs on the device')
  t.match(running.devices[0].telemetry, { load_average: String, memory_percent: String }, 'with the telemetry it pushes (--telemetry-interval)')

  // A bare client, to read the close the drain ends with.
  const watcher = new WebSocket(started.wsUrl)
  const watcherClosed = new Promise<{ code: number, reason: string }>((resolve) => watcher.on('close', (code, reason) => resolve({ code, reason: reason.toString() })))
  await new Promise((resolve) => watcher.once('open', resolve))
  watcher.send(JSON.stringify({ type: 'register', status: 'ok', client_type: 'device', client_id: 'ops-watch', metadata: {} }))
  await new Promise((resolve) => watcher.once('message', resolve))

  serve.child.kill('SIGTERM')
  await serve.line('stderr', /SIGTERM: draining/)
  t.equal(await task.exited, 0, 'the task running at SIGTERM completes')
  t.match(JSON.parse(task.stdout.join('\n')), { status: 'completed' })
  await serve.line('stderr', /drained: 1 task\(s\) finished, 0 cancelled/)
  t.same(await watcherClosed, { code: 1012, reason: 'aip-drain retry-ms=5000' }, 'clients are closed with 1012 and the reconnect hint')
  t.equal(await serve.exited, 0, 'then the server exits cleanly')
  t.equal(await device.stop(), 0)
})
