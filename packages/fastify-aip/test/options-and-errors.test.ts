import { readFileSync } from 'node:fs'
import Fastify from 'fastify'
import { test } from 'tap'
import * as api from '../src/index.js'
import { aipPlugin, resolvePluginOptions, type AipOptions } from '../src/index.js'

// Options are validated once, with coded errors; every exported error code is documented in the README.

test('every exported AIP_ERR_FASTIFY_* code is in the README errors table, and every declared code is exported', async (t) => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
  const source = readFileSync(new URL('../src/errors.ts', import.meta.url), 'utf8')
  const declared = [...source.matchAll(/createError\(\s*'(AIP_ERR_FASTIFY_[A-Z_]+)'/g)].map((match) => match[1] as string)
  const exported = new Set<string>()
  for (const [name, value] of Object.entries(api)) {
    if (!name.endsWith('Error') || typeof value !== 'function') continue
    const err = new (value as new () => { code?: unknown })()
    t.type(err, Error, `${name} builds an Error`)
    if (typeof err.code === 'string') exported.add(err.code)
  }
  t.ok(exported.size >= 10, `found ${exported.size} codes`)
  // The shared family of @aip/resilience, re-exported: AIP_ERR_INVALID_OPTION.
  t.same([...exported].sort(), [...declared, 'AIP_ERR_INVALID_OPTION'].sort(), 'the index exports an error class for each declared code, and the shared one')
  t.match(readme, /^\| Code \| Description \| How to solve \|$/m, 'the README has the errors table')
  for (const code of exported) t.match(readme, new RegExp(`^\\| \`${code}\` \\|`, 'm'), `${code} is documented`)
})

test('invalid options, the plugin\'s and the endpoint\'s, fail registration with AIP_ERR_INVALID_OPTION naming the option', async (t) => {
  const bad: Array<[string, unknown]> = [
    ['path', 'ws'],
    ['path', 42],
    ['prefix', 'api'],
    ['apiKey', ''],
    ['apiKey', 7],
    ['http', 'yes'],
    ['liveness', 'live'],
    ['closeTimeoutMs', 0],
    ['headersTimeoutMs', 0],
    ['maxConnections', 1.5],
    ['maxConnectionsPerAddress', -1],
    ['maxConnectionsPerAddress', null],
    ['onTaskEnd', 'not a function'],
    ['token', ''],
    ['maxPayloadBytes', -1]
  ]
  for (const [name, value] of bad) {
    const app = Fastify()
    app.register(aipPlugin, { [name]: value } as AipOptions)
    await t.rejects(async () => { await app.ready() }, { code: 'AIP_ERR_INVALID_OPTION', message: new RegExp(`option ${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`) }, `${name}: ${String(value)}`)
    await app.close()
  }
  t.throws(() => resolvePluginOptions(null as unknown as AipOptions), { code: 'AIP_ERR_INVALID_OPTION' })
})

test('defaults, and endpoint options passed through', async (t) => {
  const { plugin, endpoint } = resolvePluginOptions({ token: 't', maxSessions: 3, apiKey: 'k', onTaskEnd: () => {} })
  t.match(plugin, { path: '/ws', prefix: '/api', apiKey: 'k', http: true, liveness: '/api/live', closeTimeoutMs: 10000, onDeviceRegistered: null })
  t.same(endpoint, { token: 't', maxSessions: 3 }, 'only the endpoint options reach the endpoint')
  t.ok(Object.isFrozen(plugin))
  t.equal(resolvePluginOptions({ prefix: '/' }).plugin.liveness, '/live')
  t.match(plugin, { headersTimeoutMs: 10000, maxConnections: 10000, maxConnectionsPerAddress: 1000 }, 'connection limits on by default')
  t.match(resolvePluginOptions({ headersTimeoutMs: null, maxConnections: null, maxConnectionsPerAddress: 0 }).plugin,
    { headersTimeoutMs: null, maxConnections: null, maxConnectionsPerAddress: 0 }, 'each can be turned off')
})

test('an endpoint option error reaches the caller as is, with its fields', async (t) => {
  const app = Fastify()
  app.register(aipPlugin, { maxPayloadBytes: -1 } as AipOptions)
  await t.rejects(async () => { await app.ready() }, { code: 'AIP_ERR_INVALID_OPTION', option: 'maxPayloadBytes', expected: 'a positive integer', received: '-1' })
  await app.close()
  t.throws(() => resolvePluginOptions({ metrics: { prefix: '9bad' } }), { code: 'AIP_ERR_INVALID_OPTION', option: 'metrics.prefix', received: "'9bad'" }, 'nested options are named by their dotted path')
  t.throws(() => resolvePluginOptions({ dashboard: { path: '/aip/' } }), { code: 'AIP_ERR_INVALID_OPTION', option: 'dashboard.path' })
})
