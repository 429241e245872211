import { test } from 'tap'
import { idleConnections } from '../../src/security/attacks/idle-connections.js'
import { startLocalTarget } from '../../src/security/local.js'

test('connections that send no request are closed after headersTimeoutMs', async (t) => {
  const { server, target } = await startLocalTarget({ headersTimeoutMs: 300 })
  t.teardown(() => server.close())
  const result = await idleConnections(target, { connections: 20, closeWithinMs: 5000 })
  t.ok(result.refused, result.detail)
  t.equal(server.app.server.headersTimeout, 300, "the HTTP server's headersTimeout is set too")
})
