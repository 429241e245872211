import { test } from 'tap'
import { echoAmplification } from '../../src/security/attacks/echo-amplification.js'
import { startLocalTarget } from '../../src/security/local.js'

test('answers and log lines repeat at most a few hundred characters of client text', async (t) => {
  const { server, target, logs } = await startLocalTarget()
  t.teardown(() => server.close())
  const result = await echoAmplification(target, { textChars: 100_000 })
  t.ok(result.refused, result.detail)
  t.ok(logs.longest() < 4096, `the longest log line has ${logs.longest()} characters`)
})
