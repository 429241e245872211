import { test } from 'tap'
import Fastify from 'fastify'
import aipPlugin from '../src/index.js'
import { buildApp } from './helpers/harness.js'

test('resumeWindowMs and maxSessionsPerAwayDevice reach the endpoint, with their defaults', async (t) => {
  const defaults = await buildApp(t, {})
  t.equal(defaults.aip.options.resumeWindowMs, 30_000)
  t.equal(defaults.aip.options.maxSessionsPerAwayDevice, 64)
  const set = await buildApp(t, { resumeWindowMs: 0, maxSessionsPerAwayDevice: 5 })
  t.equal(set.aip.options.resumeWindowMs, 0, '0: the reference behaviour')
  t.equal(set.aip.options.maxSessionsPerAwayDevice, 5)
})

test('a bad resumeWindowMs fails the registration with AIP_ERR_INVALID_OPTION naming it', async (t) => {
  for (const [name, value] of [['resumeWindowMs', -1], ['maxSessionsPerAwayDevice', 0]] as const) {
    const app = Fastify()
    app.register(aipPlugin, { [name]: value })
    await t.rejects(async () => { await app.ready() }, { code: 'AIP_ERR_INVALID_OPTION', option: name }, `${name}: ${value}`)
    await app.close()
  }
})
