import { test } from 'tap'
import { deepNesting } from '../../src/security/attacks/deep-nesting.js'
import { startLocalTarget } from '../../src/security/local.js'

test('a frame nested deeper than the limit is refused by a scan, never parsed, and its ERROR keeps its ids', async (t) => {
  const { server, target } = await startLocalTarget({ maxPayloadBytes: 256 * 1024 })
  t.teardown(() => server.close())
  // The server runs in this process: every JSON.parse it makes is seen here.
  const original = JSON.parse
  let largest = 0
  JSON.parse = ((text: string, reviver?: (key: string, value: unknown) => unknown) => {
    largest = Math.max(largest, text.length)
    return original(text, reviver)
  }) as typeof JSON.parse
  t.teardown(() => { JSON.parse = original })
  const result = await deepNesting(target, { frames: 3, frameBytes: 200 * 1024, bystanderMaxMs: 60_000 })
  JSON.parse = original
  t.ok(result.refused, result.detail)
  t.ok(largest < 10_000, `no deep frame was parsed (largest text parsed: ${largest} characters)`)
})
