import Fastify from 'fastify'
import { test } from 'tap'
import aipPlugin from '../src/index.js'

test('POST /api/dispatch with a request longer than maxRequestBytes is a 400', async (t) => {
  const app = Fastify()
  await app.register(aipPlugin, { apiKey: 'k', maxRequestBytes: 8 })
  t.teardown(() => app.close())
  const reply = await app.inject({ method: 'POST', url: '/api/dispatch', headers: { 'x-api-key': 'k' }, body: { client_id: 'd', request: 'much too long' } })
  t.equal(reply.statusCode, 400)
  t.match(reply.json(), { code: 'AIP_ERR_FASTIFY_INVALID_TASK', message: 'Invalid task: the request is longer than 8 bytes' })
})
