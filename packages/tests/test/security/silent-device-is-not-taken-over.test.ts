import { test } from 'tap'
import { sessionTakeover } from '../../src/security/attacks/session-takeover.js'
import { startLocalTarget } from '../../src/security/local.js'

test('a live device answering no ping is not taken over, and a keyed one only with its own key', async (t) => {
  const { server, target } = await startLocalTarget({ clientKeys: { dev1: 'dev1-secret' }, takeoverProbeMs: 500 })
  t.teardown(() => server.close())
  const result = await sessionTakeover(target, { answerWithinMs: 5000 })
  t.ok(result.refused, result.detail)
})
