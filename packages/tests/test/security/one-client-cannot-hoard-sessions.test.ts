import { test } from 'tap'
import { sessionHoarding } from '../../src/security/attacks/session-hoarding.js'
import { startLocalTarget } from '../../src/security/local.js'

test("a client's running tasks are capped by count and bytes, and a huge request is refused", async (t) => {
  const { server, target } = await startLocalTarget({ maxSessionsPerClient: 5 })
  t.teardown(() => server.close())
  const result = await sessionHoarding(target, { sessions: 20 })
  t.ok(result.refused, result.detail)
  t.match(result.detail, /^5 tasks accepted, refused from task 6/)
})

test("the bytes of a client's running tasks are capped", async (t) => {
  const { server, target } = await startLocalTarget({ maxSessionBytesPerClient: 8 * 1024 })
  t.teardown(() => server.close())
  const result = await sessionHoarding(target, { sessions: 20 })
  t.ok(result.refused, result.detail)
  t.match(result.detail, /^\d tasks accepted, refused from task \d\b/, 'refused after a few 1 KB tasks')
})
