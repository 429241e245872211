import Fastify, { type FastifyServerOptions } from 'fastify'
import { test } from 'tap'
import { aipPlugin } from '../src/index.js'
import { TOKEN, TestClient, listen, registeredDevice, type Teardown } from './helpers/harness.js'
import { UPGRADE_MODES, portOf, rawUpgrade } from './helpers/upgrade.js'

// upgrade: 'direct' takes only the AIP path: the app's other WebSocket routes, unknown and mistyped paths and
// other methods are routed by Fastify as before; the AIP path is served as the router would match it (prefix,
// ignoreTrailingSlash).

async function appWithEcho (t: Teardown, upgrade: 'route' | 'direct', fastifyOptions: FastifyServerOptions = {}): Promise<ReturnType<typeof Fastify>> {
  const app = Fastify(fastifyOptions)
  t.teardown(() => app.close())
  await app.register(aipPlugin, { token: TOKEN, pingIntervalMs: 0, upgrade })
  app.get('/echo', { websocket: true }, (socket) => {
    socket.on('message', (data) => socket.send(`echo:${data.toString()}`))
  })
  return app
}

test('with upgrade "direct" the app\'s own WebSocket route works, and other paths get the answers they get on the route', async (t) => {
  const answers: Record<string, string[]> = {}
  for (const upgrade of UPGRADE_MODES) {
    const app = await appWithEcho(t, upgrade)
    const { ws } = await listen(app)
    const echo = await TestClient.connect(t, `${ws}/echo`)
    t.equal(await echo.ask('hi'), 'echo:hi', `${upgrade}: the app's WebSocket route answers`)
    answers[upgrade] = [
      await rawUpgrade(portOf(app), '/nowhere'),
      await rawUpgrade(portOf(app), `/WS/?token=${TOKEN}`)
    ]
    t.match(answers[upgrade][0], /^HTTP\/1\.1 404 /, `${upgrade}: an unknown path is not found`)
    t.match(answers[upgrade][1], /^HTTP\/1\.1 404 /, `${upgrade}: a mistyped path is not found`)
    await app.close()
    t.ok([1000, 1005].includes((await echo.closed).code), `${upgrade}: the app's socket is closed on close`)
  }
  t.same(answers.direct, answers.route, 'the same bytes either way')
})

test('with upgrade "direct" the path is matched as the router matches it: under a prefix, with ignoreTrailingSlash', async (t) => {
  const app = Fastify({ routerOptions: { ignoreTrailingSlash: true } })
  t.teardown(() => app.close())
  const requests: string[] = []
  app.addHook('onRequest', (request, _reply, done) => { requests.push(request.url); done() })
  await app.register(async (child) => {
    await child.register(aipPlugin, { token: TOKEN, pingIntervalMs: 0, upgrade: 'direct' })
  }, { prefix: '/v1' })
  const { ws } = await listen(app)
  await registeredDevice(t, `${ws}/v1/ws?token=${TOKEN}`, 'prefixed-dev')
  await registeredDevice(t, `${ws}/v1/ws/?token=${TOKEN}`, 'slashed-dev')
  t.same(requests, [], 'both were served directly (no Fastify request)')
})
