import { test } from 'tap'
import { unauthenticatedBody } from '../../src/security/attacks/unauthenticated-body.js'
import { startLocalTarget } from '../../src/security/local.js'

test('a request without X-API-Key gets 401 and its connection closes; the announced body is not drained', async (t) => {
  const { server, target } = await startLocalTarget()
  t.teardown(() => server.close())
  const result = await unauthenticatedBody(target, { announcedBytes: 10 * 1024 * 1024, closeWithinMs: 3000 })
  t.ok(result.refused, result.detail)
  t.match(result.detail, /^answer HTTP 401/)
})
