import Fastify, { type FastifyInstance } from 'fastify'
import { test } from 'tap'
import aipPlugin from '../src/index.js'
import { portOf, rawUpgrade, UPGRADE_MODES } from './helpers/upgrade.js'

// An upgrade request answered with an HTTP response instead of a WebSocket must not leave its socket open: the
// client could hold it (and a descriptor) as long as it liked, and app.close() would wait for it forever.
// rawUpgrade returns only once the server has closed the connection; the client never closes its side first.

for (const upgrade of UPGRADE_MODES) {
  // 'direct' takes upgrades on the AIP path without running the app's hooks: there the hook answers another path.
  const path = upgrade === 'route' ? '/ws?token=tok' : '/elsewhere'
  test(`upgrade '${upgrade}': an upgrade an app hook answers (403, ${path}) has its socket closed, and the app closes`, async (t) => {
    const app = Fastify()
    app.addHook('onRequest', async (_request, reply) => { await reply.code(403).send({ refused: 'by the app' }) })
    await app.register(aipPlugin, { token: 'tok', upgrade })
    await app.listen({ port: 0, host: '127.0.0.1' })
    const answer = await rawUpgrade(portOf(app), path)
    t.match(answer, /^HTTP\/1\.1 403 /)
    t.match(answer, /"refused":"by the app"/)
    await app.close()
  })

  test(`upgrade '${upgrade}': an upgrade to a path with no route (404), the plugin in a prefixed context, has its socket closed, and the app closes`, async (t) => {
    const app = Fastify()
    await app.register(async (child: FastifyInstance) => { await child.register(aipPlugin, { token: 'tok', upgrade }) }, { prefix: '/aip' })
    await app.listen({ port: 0, host: '127.0.0.1' })
    t.match(await rawUpgrade(portOf(app), '/elsewhere'), /^HTTP\/1\.1 404 /)
    await app.close()
  })
}

test('an upgrade the plugin accepts keeps its socket until the WebSocket closes', async (t) => {
  const app = Fastify()
  await app.register(aipPlugin, { token: 'tok' })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { default: WebSocket } = await import('ws')
  const ws = new WebSocket(`ws://127.0.0.1:${portOf(app)}/ws?token=tok`)
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
  // A frame answered proves the socket is alive after its upgrade was answered (101).
  ws.send(JSON.stringify({ type: 'heartbeat', client_id: 'nobody', status: 'ok', timestamp: new Date().toISOString() }))
  const answer = await new Promise<string>((resolve) => ws.once('message', (data) => resolve(String(data))))
  t.match(answer, /"type":/)
  ws.close()
  await new Promise((resolve) => ws.once('close', resolve))
  await app.close()
})
