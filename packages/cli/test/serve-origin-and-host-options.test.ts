import { test } from 'tap'
import { randomBytes } from 'node:crypto'
import { request } from 'node:http'
import { ExitCode } from '../src/index.js'
import { serveInProcess } from './helpers/serve.js'

/** The HTTP status of a refused upgrade, 0 when it was accepted. */
async function upgrade (wsUrl: string, headers: Record<string, string>): Promise<number> {
  const url = new URL(wsUrl.replace(/^ws:/, 'http:'))
  return await new Promise((resolve) => {
    const req = request({
      host: url.hostname,
      port: url.port,
      path: `${url.pathname}${url.search}`,
      headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': randomBytes(16).toString('base64'), ...headers }
    })
    req.once('upgrade', (_res, socket) => { socket.destroy(); resolve(0) })
    req.once('response', (res) => { res.resume(); resolve(res.statusCode ?? -1) })
    req.once('error', () => resolve(-1))
    req.end()
  })
}

test('aip serve --allowed-origin lets that browser Origin open a WebSocket and refuses others', async (t) => {
  const server = await serveInProcess(['--allowed-origin', 'https://console.example'])
  t.equal(await upgrade(server.wsUrl, { origin: 'https://console.example' }), 0, 'the allowed Origin is upgraded')
  t.equal(await upgrade(server.wsUrl, { origin: 'https://evil.example' }), 403, 'another Origin: 403')
  t.equal(await upgrade(server.wsUrl, {}), 0, 'no Origin (a native client): upgraded')
  t.equal(await server.stop('SIGTERM'), ExitCode.Ok)
})

test('aip serve --allowed-host answers only to those Host headers', async (t) => {
  const server = await serveInProcess(['--allowed-host', 'aip.example'])
  t.equal(await upgrade(server.wsUrl, {}), 403, 'the IP Host is refused')
  t.equal(await upgrade(server.wsUrl, { host: 'aip.example' }), 0, 'the allowed Host is upgraded')
  t.equal(await server.stop('SIGTERM'), ExitCode.Ok)
})
