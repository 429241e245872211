import Fastify from 'fastify'
import aipPlugin from 'fastify-aip'
import { test } from 'tap'
import { Probe } from '../../src/security/probe.js'

const TOKEN = 'do-not-log-this-token'

async function appWithLogs (t: { teardown: (fn: () => unknown) => void }, routerOptions: Record<string, boolean> = {}): Promise<{ port: number, logs: () => string }> {
  let text = ''
  const app = Fastify({ logger: { level: 'trace', stream: { write: (line: string) => { text += line } } }, routerOptions })
  await app.register(aipPlugin, { token: TOKEN, pingIntervalMs: 0 })
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.close())
  return { port: (app.server.address() as { port: number }).port, logs: () => text }
}

test('the token of a mistyped WebSocket path (/ws/, /WS, //ws) is not logged', async (t) => {
  const { port, logs } = await appWithLogs(t)
  for (const path of ['/ws/', '/WS', '//ws', '/Ws/']) {
    const status = await Probe.status(`ws://127.0.0.1:${port}${path}?token=${TOKEN}`)
    t.not(status, 0, `${path} is not upgraded (HTTP ${status})`)
    const plain = await fetch(`http://127.0.0.1:${port}${path}?token=${TOKEN}&x=1`)
    await plain.arrayBuffer()
  }
  t.notMatch(logs(), TOKEN, 'no log line holds the token')
  t.match(logs(), 'token=[redacted]', 'the requests are still logged')
})

test('a path the router sends to the WebSocket route keeps its token (ignoreTrailingSlash)', async (t) => {
  const { port, logs } = await appWithLogs(t, { ignoreTrailingSlash: true })
  const probe = await Probe.open(`ws://127.0.0.1:${port}/ws/?token=${TOKEN}`)
  t.match(await probe.register('trailing'), { type: 'heartbeat', status: 'ok' }, '/ws/ is the WebSocket route here, and its token works')
  probe.close()
  t.notMatch(logs(), TOKEN)
})
