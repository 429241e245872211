import Fastify from 'fastify'
import { test } from 'tap'
import { aipPlugin } from '../src/index.js'
import { TOKEN, listen, registeredDevice } from './helpers/harness.js'
import { UPGRADE_MODES } from './helpers/upgrade.js'

// The documented price of upgrade: 'direct': the app's own hooks (here an onRequest hook, as an IP allow-list
// would be) run for the AIP path on the route and not on the direct path; they still run for every other request
// of the app.

for (const upgrade of UPGRADE_MODES) {
  test(`with upgrade "${upgrade}" the app's onRequest hook ${upgrade === 'route' ? 'runs' : 'does not run'} for the AIP upgrade`, async (t) => {
    const app = Fastify()
    t.teardown(() => app.close())
    const seen: string[] = []
    app.addHook('onRequest', (request, reply, done) => {
      seen.push(`${request.headers.upgrade === undefined ? 'GET' : 'UPGRADE'} ${new URL(request.url, 'http://app').pathname}`)
      done()
    })
    await app.register(aipPlugin, { token: TOKEN, pingIntervalMs: 0, upgrade })
    app.get('/hello', async () => ({ hello: 'world' }))
    const { ws, http } = await listen(app)

    await registeredDevice(t, `${ws}/ws?token=${TOKEN}`, 'hooked-dev')
    t.ok(app.aip.isConnected('hooked-dev'), 'the device registered')
    t.same(seen, upgrade === 'route' ? ['UPGRADE /ws'] : [], upgrade === 'route' ? 'the hook saw the upgrade' : 'the hook never saw the upgrade')
    seen.length = 0
    t.same(await (await fetch(`${http}/hello`)).json(), { hello: 'world' })
    t.same(seen, ['GET /hello'], 'the hook still runs for the app\'s other requests')
  })
}
