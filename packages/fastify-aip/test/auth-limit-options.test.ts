import Fastify from 'fastify'
import { test } from 'tap'
import { aipPlugin, resolvePluginOptions, type AipOptions } from '../src/index.js'

// The `authFailureLimit` option: on by default, `true` for the defaults, `false` for none, bad values refused by name.

test('authFailureLimit is on by default with 20 failures a minute and 10000 addresses', async (t) => {
  const defaults = { maxFailures: 20, windowMs: 60_000, maxTrackedAddresses: 10_000 }
  const { plugin } = resolvePluginOptions({})
  t.match(plugin.authFailureLimit, defaults)
  t.type(plugin.authFailureLimit?.now(), 'number', 'with a clock of its own')
  t.ok(Object.isFrozen(plugin.authFailureLimit))
  t.match(resolvePluginOptions({ authFailureLimit: true }).plugin.authFailureLimit, defaults, 'true takes the defaults')
  t.equal(resolvePluginOptions({ authFailureLimit: false }).plugin.authFailureLimit, null, 'false turns it off')
  const now = (): number => 42
  t.match(resolvePluginOptions({ authFailureLimit: { maxFailures: 5, now } }).plugin.authFailureLimit,
    { maxFailures: 5, windowMs: 60_000, maxTrackedAddresses: 10_000, now }, 'an object overrides what it names')
  t.same(resolvePluginOptions({ authFailureLimit: { maxFailures: 5 }, token: 't' }).endpoint, { token: 't' }, 'it never reaches the endpoint')
})

test('a bad authFailureLimit fails registration with AIP_ERR_INVALID_OPTION naming it', async (t) => {
  const bad: Array<[unknown, string]> = [
    ['yes', 'authFailureLimit'],
    [null, 'authFailureLimit'],
    [[], 'authFailureLimit'],
    [{ maxFailures: 0 }, 'authFailureLimit.maxFailures'],
    [{ maxFailures: 1.5 }, 'authFailureLimit.maxFailures'],
    [{ windowMs: 0 }, 'authFailureLimit.windowMs'],
    [{ maxTrackedAddresses: -1 }, 'authFailureLimit.maxTrackedAddresses'],
    [{ now: 'tomorrow' }, 'authFailureLimit.now'],
    [{ maxFailure: 3 }, 'authFailureLimit.maxFailure']
  ]
  for (const [value, option] of bad) {
    t.throws(() => resolvePluginOptions({ authFailureLimit: value } as AipOptions), { code: 'AIP_ERR_INVALID_OPTION', option }, `${JSON.stringify(value)}: ${option}`)
  }
  const app = Fastify()
  app.register(aipPlugin, { authFailureLimit: { windowMs: -5 } })
  await t.rejects(async () => { await app.ready() }, { code: 'AIP_ERR_INVALID_OPTION', option: 'authFailureLimit.windowMs' })
  await app.close()
})
