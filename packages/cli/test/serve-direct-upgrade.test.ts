import { test } from 'tap'
import WebSocket from 'ws'
import { ExitCode } from '../src/index.js'
import { serveInProcess } from './helpers/serve.js'

// aip serve has no hooks of its own on the WebSocket path, so it serves upgrades directly (fastify-aip's
// `upgrade: 'direct'`): Fastify logs no request for a device's upgrade, while it still does for HTTP requests.

test('aip serve takes WebSocket upgrades directly: no Fastify request for them, HTTP requests still logged', async (t) => {
  const { wsUrl, httpUrl, stderr, stop } = await serveInProcess([], { AIP_LOG_LEVEL: 'info' })

  const ws = new WebSocket(wsUrl)
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
  const answer = new Promise<Record<string, unknown>>((resolve) => ws.once('message', (data) => resolve(JSON.parse(data.toString()))))
  ws.send(JSON.stringify({ type: 'register', status: 'ok', client_type: 'device', client_id: 'direct-cli-dev' }))
  t.match(await answer, { type: 'heartbeat', status: 'ok' }, 'the device registered')
  t.equal((await fetch(`${httpUrl}/api/live`)).status, 200)
  ws.terminate()
  t.equal(await stop(), ExitCode.Ok)

  const requests = stderr.join('').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, any>)
    .filter((entry) => entry.msg === 'incoming request').map((entry) => String(entry.req?.url))
  t.same(requests, ['/api/live'], 'Fastify saw the HTTP request and not the upgrade')
  t.match(stderr.join(''), /registered device direct-cli-dev/)
})
