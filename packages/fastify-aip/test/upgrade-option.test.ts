import websocket from '@fastify/websocket'
import Fastify from 'fastify'
import { test } from 'tap'
import { aipPlugin, resolvePluginOptions } from '../src/index.js'

// The `upgrade` option: 'route' by default, 'direct' on request; anything else, and 'direct' when the app
// registered @fastify/websocket before the plugin, is refused with AIP_ERR_INVALID_OPTION.

test('upgrade defaults to "route" and accepts "direct"', async (t) => {
  t.equal(resolvePluginOptions({}).plugin.upgrade, 'route')
  t.equal(resolvePluginOptions({ upgrade: 'direct' }).plugin.upgrade, 'direct')
  t.equal(resolvePluginOptions({ upgrade: 'route' }).plugin.upgrade, 'route')
})

for (const value of ['fast', 'DIRECT', true, 1, null]) {
  test(`upgrade ${JSON.stringify(value)} is refused with a coded error`, async (t) => {
    t.throws(() => resolvePluginOptions({ upgrade: value as never }), { code: 'AIP_ERR_INVALID_OPTION', option: 'upgrade' })
    const app = Fastify()
    t.teardown(() => app.close())
    app.register(aipPlugin, { upgrade: value as never })
    await t.rejects(async () => { await app.ready() }, { code: 'AIP_ERR_INVALID_OPTION', option: 'upgrade' }, 'registering fails')
  })
}

test('upgrade "direct" is refused when the app registered @fastify/websocket before the plugin; "route" works there', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(websocket)
  app.register(aipPlugin, { upgrade: 'direct' })
  await t.rejects(async () => { await app.ready() }, {
    code: 'AIP_ERR_INVALID_OPTION', option: 'upgrade', received: "'direct'", expected: /registered before fastify-aip/
  })
  const other = Fastify()
  t.teardown(() => other.close())
  await other.register(websocket)
  await other.register(aipPlugin, { upgrade: 'route', pingIntervalMs: 0 })
  t.ok(other.hasDecorator('aip'), 'the route mode is the one that works with it')
})
