import { connect } from 'node:net'
import Fastify from 'fastify'
import { test } from 'tap'
import aipPlugin from '../src/index.js'

test('the connection limits are applied to the HTTP server, and left alone when turned off', async (t) => {
  const app = Fastify()
  await app.register(aipPlugin, { headersTimeoutMs: 1234, maxConnections: 77 })
  t.equal(app.server.headersTimeout, 1234)
  t.equal(app.server.maxConnections, 77)
  await app.close()
  const untouched = Fastify({ requestTimeout: 1000 })
  const before = { headersTimeout: untouched.server.headersTimeout, maxConnections: untouched.server.maxConnections }
  await untouched.register(aipPlugin, { headersTimeoutMs: null, maxConnections: null, maxConnectionsPerAddress: 0 })
  t.same({ headersTimeout: untouched.server.headersTimeout, maxConnections: untouched.server.maxConnections }, before)
  await untouched.close()
  const raised = Fastify({ requestTimeout: 500 })
  await raised.register(aipPlugin, { headersTimeoutMs: 2000 })
  t.equal(raised.server.requestTimeout, 2000, 'requestTimeout is raised to headersTimeout, as Node requires')
  await raised.close()
})

test('a connection that sends no request headers in time is closed; one over the per-address cap at once', async (t) => {
  const app = Fastify()
  await app.register(aipPlugin, { headersTimeoutMs: 200, maxConnectionsPerAddress: 1 })
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.close())
  const port = (app.server.address() as { port: number }).port
  const idle = connect({ host: '127.0.0.1', port })
  idle.on('error', () => {})
  await new Promise((resolve) => idle.once('connect', resolve))
  const over = connect({ host: '127.0.0.1', port })
  over.on('error', () => {})
  await new Promise((resolve) => over.once('close', resolve))
  t.pass('the second connection of the address was closed')
  await new Promise((resolve) => idle.once('close', resolve))
  t.pass('the idle one was closed after headersTimeoutMs')
})
